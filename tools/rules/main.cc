// tb-rules: the game rule engines and robot strategies from the command line. The commands
// live in tb_rules_cli (tools/rules/rules_tool.h); this only hands them argv and the streams.
#include "tools/rules/rules_tool.h"

int main(int argc, char** argv) {
    return tb::rules::run(argc, argv, tb::rules::Io{});
}
