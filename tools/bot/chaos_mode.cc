#include <algorithm>

#include "codec/body.h"
#include "codec/messages.h"
#include "tools/bot/modes.h"

namespace tb::bot {

namespace {

using Scenario = ChaosMode::Scenario;

constexpr int kTruncatedHoldMs = 40000;  // past the proxy's 20-30 s keep-alive drop
constexpr int kSlowReaderFrames = 400;   // Ranking requests, one per kSlowReaderGapMs
constexpr int kSlowReaderGapMs = 25;     // 40/s: under the default rate limit of 50/s
constexpr int kSlowReaderRcvbuf = 4096;
constexpr int kFloodFrames = 400;
constexpr int kDeepNesting = 100;  // the proxy's converter allows 32

uint16_t magic_of(codec::Magic m) {
    return static_cast<uint16_t>(m);
}

codec::Magic other_magic(codec::Magic m) {
    return m == codec::Magic::kJson ? codec::Magic::kMsgpack : codec::Magic::kJson;
}

// A FastRegister body in the connection's encoding whose frame is exactly 8192 bytes.
std::string oversize_body(const Client& c) {
    auto build = [&c](std::size_t name_len) {
        const std::string json = R"({"Account":")" + c.account() + R"(","Machine":")" +
                                 c.machine() + R"(","Name":")" + std::string(name_len, 'x') +
                                 R"(","Gender":3})";
        if (c.encoding() == codec::Magic::kJson) return json;
        std::string mp;
        codec::json_to_msgpack(json, mp, 1 << 20);
        return mp;
    };
    std::string body = build(8000);
    // The framing overhead is the same for any name this long, so one correction lands exactly.
    body = build(8000 + codec::kMaxFrameBody - body.size());
    return body;
}

std::string deep_body(const Client& c) {
    if (c.encoding() == codec::Magic::kJson) {
        return R"({"Account":)" + std::string(kDeepNesting, '[') + std::string(kDeepNesting, ']') +
               "}";
    }
    // fixmap(1) "Account" then fixarray(1) nested, innermost fixarray(0).
    std::string mp =
        "\x81\xa7"
        "Account";
    mp += std::string(kDeepNesting - 1, '\x91');
    mp += '\x90';
    return mp;
}

}  // namespace

std::string_view ChaosMode::scenario_name(Scenario s) noexcept {
    switch (s) {
        case Scenario::kGarbage: return "garbage";
        case Scenario::kBadMagic: return "bad_magic";
        case Scenario::kLength7: return "length_7";
        case Scenario::kLength8193: return "length_8193";
        case Scenario::kLength65535: return "length_65535";
        case Scenario::kTruncated: return "truncated";
        case Scenario::kMagicSwitch: return "magic_switch";
        case Scenario::kOversizeJson: return "oversize_json";
        case Scenario::kDeepJson: return "deep_json";
        case Scenario::kSlowReader: return "slow_reader";
        case Scenario::kFlood: return "flood";
        case Scenario::kBeforeLogin: return "before_login";
        case Scenario::kCount: break;
    }
    return "?";
}

ChaosMode::Expect ChaosMode::expectation(Scenario s) noexcept {
    switch (s) {
        case Scenario::kGarbage:
        case Scenario::kBadMagic:
        case Scenario::kLength7:
        case Scenario::kLength8193:
        case Scenario::kLength65535:
        case Scenario::kMagicSwitch: return Expect::kClose;
        case Scenario::kOversizeJson:
        case Scenario::kDeepJson:
        case Scenario::kBeforeLogin: return Expect::kErrorFrames;
        case Scenario::kFlood: return Expect::kLimitOrClose;
        default: return Expect::kAnything;
    }
}

ChaosMode::Scenario ChaosMode::scenario_for(uint32_t index, uint32_t round,
                                            uint64_t seed) noexcept {
    constexpr auto kN = static_cast<uint64_t>(Scenario::kCount);
    return static_cast<Scenario>((index + round + seed % kN) % kN);
}

void ChaosMode::attach(Engine& engine, std::size_t bots) {
    Mode::attach(engine, bots);
    bots_.assign(bots, Bot{});
}

void ChaosMode::on_start(Client& c) {
    begin(c);
}

void ChaosMode::begin(Client& c) {
    Bot& b = bots_[c.slot()];
    b.scenario = scenario_for(c.index(), b.round++, engine_->config().seed);
    b.phase = Phase::kConnecting;
    b.step = 0;
    b.remaining = 0;
    b.limited = false;
    b.run = ScenarioStats{};
    b.run.runs = 1;
    engine_->set_receive_buffer(c, b.scenario == Scenario::kSlowReader ? kSlowReaderRcvbuf : 0);
    engine_->connect(c);
}

std::string ChaosMode::header(Client& c, uint16_t magic, uint16_t length, uint16_t mcmd,
                              uint16_t scmd) {
    (void)c;
    const uint16_t fields[4] = {magic, length, mcmd, scmd};
    std::string h;
    for (const uint16_t v : fields) {
        h += static_cast<char>(v >> 8);
        h += static_cast<char>(v & 0xFF);
    }
    return h;
}

void ChaosMode::on_connected(Client& c) {
    Bot& b = bots_[c.slot()];
    b.phase = Phase::kRunning;
    const uint16_t magic = magic_of(c.encoding());
    const uint16_t sign_in_days = codec::scmd_of(codec::kMsgSignInDays);
    std::string bytes;
    int expect_ms = kExpectMs;
    switch (b.scenario) {
        case Scenario::kGarbage: {
            bytes.resize(64);
            for (char& ch : bytes) ch = static_cast<char>(engine_->rng()() & 0xFF);
            if (bytes[0] == '\x52') bytes[0] = '\x00';  // never a valid magic by chance
            engine_->send_raw(c, bytes);
            break;
        }
        case Scenario::kBadMagic:
            engine_->send_raw(c, header(c, 0xBEEF, 8, codec::kMcmdHall, sign_in_days));
            break;
        case Scenario::kLength7:
            engine_->send_raw(c, header(c, magic, 7, codec::kMcmdHall, sign_in_days));
            break;
        case Scenario::kLength8193:
        case Scenario::kLength65535: {
            const uint16_t length = b.scenario == Scenario::kLength8193 ? 8193 : 65535;
            engine_->send_raw(c, header(c, magic, length, codec::kMcmdHall, sign_in_days) +
                                     std::string(256, '{'));
            break;
        }
        case Scenario::kTruncated:
            engine_->set_answer_probes(c, false);
            engine_->send_raw(
                c, header(c, magic, 100, codec::kMcmdHall, sign_in_days) + std::string(10, ' '));
            expect_ms = kTruncatedHoldMs;
            break;
        case Scenario::kMagicSwitch:
            // A good request first, so the encoding is fixed; the other magic follows its answer.
            engine_->request(c, codec::kMcmdHall, sign_in_days, "");
            break;
        case Scenario::kOversizeJson: {
            std::string frame;
            codec::encode_frame(frame, c.encoding(), codec::kMcmdHall,
                                codec::scmd_of(codec::kMsgFastRegister), oversize_body(c));
            engine_->track(c, codec::kMcmdHall, codec::scmd_of(codec::kMsgFastRegister));
            engine_->send_raw(c, frame);
            expect_ms = engine_->config().timeout_ms + 1000;  // the request timeout comes first
            break;
        }
        case Scenario::kDeepJson: {
            std::string frame;
            codec::encode_frame(frame, c.encoding(), codec::kMcmdHall,
                                codec::scmd_of(codec::kMsgFastRegister), deep_body(c));
            engine_->track(c, codec::kMcmdHall, codec::scmd_of(codec::kMsgFastRegister));
            engine_->send_raw(c, frame);
            expect_ms = engine_->config().timeout_ms + 1000;
            break;
        }
        case Scenario::kSlowReader:
            // Untracked: the answers are never read, so they could never be matched.
            engine_->set_reading(c, false);
            engine_->send(c, codec::kMcmdHall, codec::scmd_of(codec::kMsgFastRegister),
                          fast_register_body(c));
            b.remaining = kSlowReaderFrames;
            expect_ms = kSlowReaderGapMs;
            break;
        case Scenario::kFlood: {
            std::string frame;
            codec::encode_frame(frame, c.encoding(), codec::kMcmdHall, sign_in_days, "");
            for (int i = 0; i < kFloodFrames; ++i) bytes += frame;
            engine_->send_raw(c, bytes);
            break;
        }
        case Scenario::kBeforeLogin: {
            codec::FastLoginRequest fl;
            fl.game_type = codec::kGameTypeGomoku;
            fl.game_level = 1;
            codec::gomoku::PlaceStone ps;
            ps.position_x = 7;
            ps.position_y = 7;
            engine_->request(c, codec::kMcmdRoom, codec::scmd_of(codec::kMsgFastLogin),
                             codec::encode(fl));
            engine_->request(c, codec::kMcmdRoom, codec::scmd_of(codec::kMsgReady), "");
            engine_->request(c, codec::kMcmdGame, codec::scmd_of(codec::kMsgGomokuPlaceStone),
                             codec::encode(ps));
            expect_ms = engine_->config().timeout_ms + 1000;
            break;
        }
        case Scenario::kCount: break;
    }
    if (c.open()) engine_->wake_after(c, expect_ms);
}

void ChaosMode::tally(Bot& b, int32_t err_no) {
    if (err_no == 0) {
        ++b.run.replies_ok;
        return;
    }
    ++b.run.error_frames;
    ++b.run.errnos[err_no];
    if (err_no == codec::to_int(codec::Errno::kRateLimited)) b.limited = true;
}

void ChaosMode::on_reply(Client& c, const Reply& r) {
    Bot& b = bots_[c.slot()];
    tally(b, r.err_no);
    if (b.scenario == Scenario::kMagicSwitch && b.step == 0) {
        b.step = 1;
        std::string frame;
        codec::encode_frame(frame, other_magic(c.encoding()), codec::kMcmdHall,
                            codec::scmd_of(codec::kMsgSignInDays), "");
        engine_->send_raw(c, frame);
        if (c.open()) engine_->wake_after(c, kExpectMs);
        return;
    }
    if (expectation(b.scenario) == Expect::kErrorFrames) {
        if (r.err_no == 0) {
            finish(c, true, true);  // a request that should have been refused was served
        } else if (c.pending() == 0) {
            finish(c, false, true);
        }
    }
}

void ChaosMode::on_frame(Client& c, const codec::Frame& f, int32_t err_no) {
    (void)f;
    tally(bots_[c.slot()], err_no);
}

void ChaosMode::on_closed(Client& c, CloseCause cause, bool was_logged_in) {
    (void)was_logged_in;
    Bot& b = bots_[c.slot()];
    if (cause == CloseCause::kConnectFailed) {
        // Counted as an error by the engine; try the same scenario again later.
        --b.round;
        b.phase = Phase::kBetween;
        engine_->wake_after(c, std::max(engine_->config().think_ms, 500));
        return;
    }
    ++b.run.closed_by_server;
    // Every expectation accepts a close, and a magic switch expects it only after the switch.
    finish(c, b.scenario == Scenario::kMagicSwitch && b.step == 0, false);
}

void ChaosMode::on_timeout(Client& c, const Pending& p) {
    (void)p;
    // Already an error (timeouts); the scenario cannot go on without its answer.
    if (bots_[c.slot()].phase == Phase::kRunning) finish(c, false, true);
}

void ChaosMode::on_timer(Client& c) {
    Bot& b = bots_[c.slot()];
    if (b.phase == Phase::kBetween) {
        begin(c);
        return;
    }
    if (b.phase != Phase::kRunning) return;
    switch (expectation(b.scenario)) {
        case Expect::kClose: finish(c, true, true); return;  // still open: not closed in time
        case Expect::kLimitOrClose: finish(c, !b.limited, true); return;
        case Expect::kErrorFrames: finish(c, false, true); return;  // timeouts counted already
        case Expect::kAnything: break;
    }
    if (b.scenario == Scenario::kSlowReader && b.remaining > 0) {
        --b.remaining;
        codec::RankingRequest req;
        req.top = 100;
        engine_->send(c, codec::kMcmdHall, codec::scmd_of(codec::kMsgRanking), codec::encode(req));
        if (c.open()) engine_->wake_after(c, kSlowReaderGapMs);
        return;
    }
    finish(c, false, true);  // held long enough (truncated, slow reader)
}

void ChaosMode::finish(Client& c, bool violation, bool close) {
    Bot& b = bots_[c.slot()];
    if (b.phase != Phase::kRunning) return;
    if (violation) {
        ++b.run.violations;
        ++engine_->counters().violations;
    }
    engine_->stats().scenario(std::string(scenario_name(b.scenario)), b.run);
    b.phase = Phase::kBetween;
    if (close) engine_->close(c);
    engine_->wake_after(c, std::max(engine_->config().think_ms, 100));
}

void ChaosMode::on_end(Client& c) {
    Bot& b = bots_[c.slot()];
    if (b.phase != Phase::kRunning) return;
    if (c.open()) ++b.run.open_at_end;
    engine_->stats().scenario(std::string(scenario_name(b.scenario)), b.run);
    b.phase = Phase::kBetween;
}

}  // namespace tb::bot
