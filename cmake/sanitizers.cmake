# -DMICROVM_SANITIZE=ON: ASan + UBSan for everything the project builds in C++ (host targets
# only). C targets are test fixtures run inside sandboxes (one is linked -static, which ASan
# cannot be), so they stay as they are.
if(MICROVM_SANITIZE)
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-omit-frame-pointer>
                      $<$<COMPILE_LANGUAGE:CXX>:-fno-sanitize-recover=undefined>)
  add_link_options($<$<LINK_LANGUAGE:CXX>:-fsanitize=address,undefined>)
endif()
