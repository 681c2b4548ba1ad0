// tb-bot: robot clients over real TCP against a tablebus proxy (docs/PROTOCOL.md).
//   tb-bot --proxy HOST:PORT --mode idle|login|chaos|gomoku|landlords --players N --duration S
//          [--rate R] [--think-ms T] [--level L] [--strategy robot|random] [--json]
//          [--account-prefix P] [--encoding json|msgpack] [--seed X]
// Exit status: 0 when no errors, 1 when there were errors, 2 for bad arguments.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <thread>

#include "tools/bot/runner.h"

int main(int argc, char** argv) {
    tb::bot::BotOptions o;
    const auto parsed = tb::bot::parse_options(argc, argv, o);
    if (parsed.status == tb::bot::ParseStatus::kHelp) {
        std::cout << parsed.message;
        return 0;
    }
    if (parsed.status == tb::bot::ParseStatus::kError) {
        std::fprintf(stderr, "tb-bot: %s\n", parsed.message.c_str());
        return 2;
    }
    std::string why;
    if (!tb::bot::raise_fd_limit(o.players, why)) {
        std::fprintf(stderr, "tb-bot: %s\n", why.c_str());
        return 2;
    }

    // SIGINT/SIGTERM end the run early but cleanly (grace, summary): blocked in every thread
    // (the mask is inherited, so before any starts) and collected by one watcher.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    std::atomic<bool> stop{false};
    std::atomic<bool> done{false};
    std::thread watcher([&] {
        const timespec slice{0, 100 * 1000 * 1000};
        while (!done) {
            if (sigtimedwait(&set, nullptr, &slice) > 0) stop = true;
        }
    });

    int status = 0;
    try {
        const auto report = tb::bot::run(
            o, stop, [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
        std::fputs(tb::bot::to_summary(report).c_str(), stderr);
        if (o.json) std::cout << tb::bot::to_json(report).dump() << std::endl;
        status = report.errors == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tb-bot: %s\n", e.what());
        status = 2;
    }
    done = true;
    watcher.join();
    return status;
}
