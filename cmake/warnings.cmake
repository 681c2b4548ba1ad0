# tb_warnings: the warning set every target of ours links (STYLE.md); -Werror with TB_WERROR.
add_library(tb_warnings INTERFACE)
target_compile_options(tb_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wno-sign-conversion
    $<$<BOOL:${TB_WERROR}>:-Werror>)
if(TB_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 under -fsanitize reports impossible std::string copies (-Wrestrict, GCC bug
    # 105651) and uninitialized reads inside std::regex/std::function (-Wmaybe-uninitialized,
    # GCC bug 105562); with -Werror they would fail CI builds of correct code. Added after
    # -Wall so that it does not turn them back on.
    target_compile_options(tb_warnings INTERFACE -Wno-restrict -Wno-maybe-uninitialized)
endif()
