# TB_SANITIZE=address,undefined or TB_SANITIZE=thread applies to every target in the tree.
if(TB_SANITIZE)
    message(STATUS "tablebus: sanitizers ${TB_SANITIZE}")
    add_compile_options(-fsanitize=${TB_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    add_link_options(-fsanitize=${TB_SANITIZE})
endif()
if(TB_SANITIZE)
    # -O1 and lighter debug info: sanitizer builds compile about twice as fast and still catch
    # what they are for; later options win over the build type's -O2 -g.
    add_compile_options(-O1 -g1)
endif()
