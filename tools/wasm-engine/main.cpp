#include "microvm/wasm/engine_main.hpp"

int main(int argc, char** argv) { return microvm::wasm::engine_main(argc, argv); }
