# -DMICROVM_SANITIZE=ON: ASan + UBSan for everything the project builds (host targets only).
if(MICROVM_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
