# tb_warnings: the warning set every target of ours links (STYLE.md); -Werror with TB_WERROR.
add_library(tb_warnings INTERFACE)
target_compile_options(tb_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wno-sign-conversion
    $<$<BOOL:${TB_WERROR}>:-Werror>)
