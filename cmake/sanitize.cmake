# TB_SANITIZE=address,undefined or TB_SANITIZE=thread applies to every target in the tree.
if(TB_SANITIZE)
    message(STATUS "tablebus: sanitizers ${TB_SANITIZE}")
    add_compile_options(-fsanitize=${TB_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    add_link_options(-fsanitize=${TB_SANITIZE})
endif()
if(TB_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 reports impossible std::string copies under -fsanitize=address with -O2
    # (GCC bug 105651, -Wrestrict false positives); with -Werror they would break CI builds.
    add_compile_options(-Wno-restrict)
endif()
