// tb-rules (tools/rules/rules_tool.h) run in-process on temporary files: the classify, beats and
// hint answers, the batch format, simulate's JSON contract, usage errors and exit statuses.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "nodes/game/landlords/classify.h"
#include "tools/rules/rules_tool.h"

namespace {

struct FileCloser {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

std::string slurp(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string s;
    char buf[65536];
    size_t got = 0;
    while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, got);
    return s;
}

struct Result {
    int code = -1;
    std::string out;
    std::string err;
};

Result run_tool(std::vector<std::string> args, const std::string& input = "") {
    File in(std::tmpfile()), out(std::tmpfile()), err(std::tmpfile());
    REQUIRE((in && out && err));
    std::fwrite(input.data(), 1, input.size(), in.get());
    std::rewind(in.get());
    args.insert(args.begin(), "tb-rules");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    Result r;
    r.code = tb::rules::run(static_cast<int>(argv.size()), argv.data(),
                            tb::rules::Io{in.get(), out.get(), err.get()});
    r.out = slurp(out.get());
    r.err = slurp(err.get());
    return r;
}

}  // namespace

TEST_CASE("tb-rules classify prints every reading of the cards", "[landlords][tb-rules]") {
    auto r = run_tool({"classify", "666555444333"});
    CHECK(r.code == 0);
    CHECK(r.out == "airplane:3:12 airplane_single:3:12 airplane_single:4:12\n");
    r = run_tool({"classify", "3456"});
    CHECK(r.code == 0);
    CHECK(r.out == "invalid\n");
    r = run_tool({"classify", "BR", "--json"});
    CHECK(r.code == 0);
    CHECK(r.out ==
          "{\"cards\":\"BR\",\"readings\":[{\"type\":\"rocket\",\"main\":\"B\",\"count\":2}]}\n");
}

TEST_CASE("tb-rules refuses cards that cannot exist with a clear error and status 2",
          "[landlords][tb-rules]") {
    for (const auto& [text, why] :
         std::vector<std::pair<std::string, std::string>>{{"33x", "unknown character 'x'"},
                                                          {"33333", "more than four '3'"},
                                                          {"BB", "two small jokers"}}) {
        INFO(text);
        const auto r = run_tool({"classify", text});
        CHECK(r.code == 2);
        CHECK(r.out.empty());
        CHECK(r.err.find(why) != std::string::npos);
    }
    CHECK(run_tool({"classify"}).code == 2);
    CHECK(run_tool({"classify", "33", "--batch"}).code == 2);
    CHECK(run_tool({"frobnicate"}).code == 2);
    CHECK(run_tool({}).code == 2);
}

TEST_CASE("tb-rules beats says yes or no and which reading", "[landlords][tb-rules]") {
    auto r = run_tool({"beats", "444555666777", "333444555789"});
    CHECK(r.code == 0);
    CHECK(r.out ==
          "yes: 444555666777 as airplane_single:4:12 beats 333444555789 as "
          "airplane_single:3:12\n");
    r = run_tool({"beats", "444555666777", "333444555666"});
    CHECK(r.out == "yes: 444555666777 as airplane:4:12 beats 333444555666 as airplane:3:12\n");
    r = run_tool({"beats", "444555666777", "333444555666", "--last-type", "airplane_single"});
    CHECK(r.out.rfind("yes: 444555666777 as airplane_single:4:12", 0) == 0);
    r = run_tool({"beats", "55", "333"});
    CHECK(r.code == 0);
    CHECK(r.out == "no: 55 (pair:5:2) does not beat 333 as trio:3:3\n");
    r = run_tool({"beats", "3456", "3"});
    CHECK(r.code == 0);
    CHECK(r.out == "no: 3456 is not a play\n");
    r = run_tool({"beats", "BR", "2222", "--json"});
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["beats"] == true);
    CHECK(j["reading"]["type"] == "rocket");
}

TEST_CASE("tb-rules beats refuses a bad argument with status 2", "[landlords][tb-rules]") {
    auto r = run_tool({"beats", "3x", "3"});
    CHECK(r.code == 2);
    CHECK(r.err.find("PLAY '3x'") != std::string::npos);
    r = run_tool({"beats", "4", "3456"});
    CHECK(r.code == 2);
    CHECK(r.err.find("LAST '3456' is not a play") != std::string::npos);
    r = run_tool({"beats", "4", "3", "--last-type", "pair"});
    CHECK(r.code == 2);
    CHECK(r.err.find("cannot be read as pair") != std::string::npos);
    r = run_tool({"beats", "4", "3", "--last-type", "triple"});
    CHECK(r.code == 2);
    CHECK(r.err.find("unknown play type 'triple'") != std::string::npos);
    CHECK(run_tool({"beats", "4"}).code == 2);
}

TEST_CASE("tb-rules hint lists the legal plays and the strategy's choice",
          "[landlords][tb-rules]") {
    auto r = run_tool({"hint", "3345"});
    CHECK(r.code == 0);
    CHECK(r.out ==
          "hand 3345 (4 cards), leading: 4 legal plays\n"
          "  single:3:1 3\n  single:4:1 4\n  single:5:1 5\n  pair:3:2 33\n"
          "choice: pair:3:2 33\n");
    r = run_tool({"hint", "3345", "4"});
    CHECK(r.out ==
          "hand 3345 (4 cards), following single:4:1: 1 legal plays\n"
          "  single:5:1 5\nchoice: single:5:1 5\n");
    r = run_tool({"hint", "3345", "4", "--partner"});
    CHECK(r.out.find("choice: pass\n") != std::string::npos);
    r = run_tool({"hint", "3333444455556666BR", "--limit", "2", "--json"});
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["plays"].size() == 2);
    CHECK(j["legal_plays"].get<int>() > 2);
    CHECK(j["choice"].is_object());
    CHECK(run_tool({"hint", "3345", "4", "--partner", "--farmer"}).code == 2);
}

TEST_CASE("tb-rules classify --batch answers one line per input line", "[landlords][tb-rules]") {
    const std::string input =
        "333444555666\n"
        "3x\n"
        "\n"
        "33333\n"
        "BB\n"
        "3456\n"
        "BR\r\n"
        "43\n"
        "TJQKA";  // no newline at the end: still a line
    const auto r = run_tool({"classify", "--batch"}, input);
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    CHECK(r.out ==
          "airplane:3:12 airplane_single:3:12 airplane_single:4:12\n"
          "invalid\n"
          "invalid\n"
          "invalid\n"
          "invalid\n"
          "invalid\n"
          "rocket:B:2\n"
          "invalid\n"
          "straight:T:5\n");
    CHECK(run_tool({"classify", "--batch"}, "").out.empty());
    CHECK(run_tool({"classify", "--batch"}, "\n\n").out == "invalid\ninvalid\n");
}

TEST_CASE("tb-rules classify --batch keeps lines in step over a large input",
          "[landlords][tb-rules]") {
    // Lines longer and shorter than nothing in particular, crossing the 1 MiB read blocks.
    std::mt19937_64 rng(17);
    const std::string alphabet = "3456789TJQKA2BRx";
    std::string input, expected;
    for (int i = 0; i < 200000; ++i) {
        std::string line;
        const size_t len = rng() % 14;
        for (size_t k = 0; k < len; ++k) line += alphabet[rng() % alphabet.size()];
        input += line + "\n";
        tb::rules::append_batch_answer(line, expected);
        expected += '\n';
    }
    const auto r = run_tool({"classify", "--batch"}, input);
    CHECK(r.code == 0);
    CHECK(r.out.size() == expected.size());
    CHECK(r.out == expected);
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 200000);
}

TEST_CASE("tb-rules simulate prints only the JSON object with --json", "[landlords][tb-rules]") {
    auto r =
        run_tool({"simulate", "--game", "landlords", "--games", "200", "--seed", "3", "--json"});
    CHECK(r.code == 0);
    const auto j = nlohmann::ordered_json::parse(r.out);
    CHECK(r.out.back() == '\n');
    CHECK(j.size() == 3);
    CHECK(j.begin().key() == "game");
    CHECK(j["game"] == "landlords");
    CHECK(j["games"] == 200);
    CHECK(j["win_rate"].get<double>() >= 0.7);
    CHECK(r.out.rfind("{\"game\":\"landlords\",\"games\":200,\"win_rate\":", 0) == 0);
    // Same seed, same answer.
    CHECK(run_tool({"simulate", "--game", "landlords", "--games", "200", "--seed", "3", "--json"})
              .out == r.out);
    r = run_tool({"simulate", "--game", "landlords", "--games", "50"});
    CHECK(r.code == 0);
    CHECK(r.out.find("win rate") != std::string::npos);
    CHECK(run_tool({"simulate", "--game", "chess"}).code == 2);
    CHECK(run_tool({"simulate", "--game", "landlords", "--games", "0"}).code == 2);
}

TEST_CASE("tb-rules simulate runs the gomoku strategy too", "[landlords][tb-rules]") {
    const auto r = run_tool({"simulate", "--game", "gomoku", "--games", "4", "--json"});
    CHECK(r.code == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["game"] == "gomoku");
    CHECK(j["games"] == 4);
    CHECK(j["win_rate"].is_number());
}

TEST_CASE("tb-rules bench reports its figures as JSON", "[landlords][tb-rules]") {
    const auto r = run_tool({"bench", "--hands", "30", "--games", "20", "--json"});
    CHECK(r.code == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["hands"] == 30);
    CHECK(j["plays"].get<int>() > 30);
    CHECK(j["classify_mean_ns"].get<double>() > 0);
    CHECK(j["enumerate_leads_median_us"].get<double>() > 0);
}

TEST_CASE("tb-rules --help is there for every command", "[landlords][tb-rules]") {
    for (const char* cmd : {"classify", "beats", "hint", "simulate", "bench"}) {
        INFO(cmd);
        const auto r = run_tool({cmd, "--help"});
        CHECK(r.code == 0);
        CHECK(r.out.find("Usage") != std::string::npos);
    }
    const auto r = run_tool({"--help"});
    CHECK(r.code == 0);
    CHECK(r.out.find("classify") != std::string::npos);
}
