# TB_SANITIZE=address,undefined or TB_SANITIZE=thread applies to every target in the tree.
if(TB_SANITIZE)
    message(STATUS "tablebus: sanitizers ${TB_SANITIZE}")
    add_compile_options(-fsanitize=${TB_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    add_link_options(-fsanitize=${TB_SANITIZE})
endif()
