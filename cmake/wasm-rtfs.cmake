# The RTFS runtime compiled to wasm32-wasi, built as part of the normal build when the toolchain
# is present (clang-19, lld-19, wasi-libc, libc++-19-dev-wasm32). The wasm provider runs RTFS
# programs with the resulting module; without the toolchain it reports RTFS as unavailable.
find_program(WASI_CLANGXX clang++-19)
find_program(WASI_LLD wasm-ld-19 NAMES wasm-ld-19 wasm-ld)
set(WASI_LIBCXX /usr/lib/wasm32-wasi/libc++.a)
if(WASI_CLANGXX AND WASI_LLD AND EXISTS ${WASI_LIBCXX})
  include(ExternalProject)
  set(RTFS_WASM_DIR ${CMAKE_BINARY_DIR}/rtfs-wasm)
  ExternalProject_Add(rtfs_wasm
    SOURCE_DIR ${CMAKE_SOURCE_DIR}/rtfs
    BINARY_DIR ${RTFS_WASM_DIR}
    CMAKE_ARGS
      -DCMAKE_TOOLCHAIN_FILE=${CMAKE_SOURCE_DIR}/cmake/wasi-toolchain.cmake
      # Size-optimised: the engine decodes and validates the whole module on a cold start, so
      # every byte of code costs start-up time (docs/benchmarks.md).
      -DCMAKE_BUILD_TYPE=MinSizeRel
      -DCMAKE_CXX_FLAGS=-Wall\ -Wextra
    BUILD_ALWAYS ON
    INSTALL_COMMAND ""
    USES_TERMINAL_BUILD OFF)
  set(MICROVM_RTFS_WASM_AVAILABLE ON CACHE INTERNAL "")
  message(STATUS "RTFS for wasm32-wasi: building with ${WASI_CLANGXX}")
else()
  set(MICROVM_RTFS_WASM_AVAILABLE OFF CACHE INTERNAL "")
  message(STATUS "RTFS for wasm32-wasi: not built (needs clang-19, lld-19, wasi-libc, libc++-19-dev-wasm32)")
endif()
