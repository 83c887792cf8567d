// The wasm engine's program (microvm-wasm-engine, tools/wasm-engine): what the wasm provider
// executes in a confined child for each module it compiles or runs (engine_process.hpp), so that
// wabt, the WASI host and libcurl act on hostile input in a process holding nothing of the
// host's memory. It reads its request, confines itself, does the work and reports on its channel
// (host/confined_fork.hpp). Run by hand it says what it is and exits 2.
#pragma once

namespace microvm::wasm {

int engine_main(int argc, char** argv);

}  // namespace microvm::wasm
