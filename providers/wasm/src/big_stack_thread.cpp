#include "big_stack_thread.hpp"

#include <pthread.h>

namespace microvm::wasm {
namespace {

void* trampoline(void* arg) {
    (*static_cast<const std::function<void()>*>(arg))();
    return nullptr;
}

}  // namespace

bool run_with_big_stack(const std::function<void()>& fn, size_t stack_bytes) {
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) return false;
    // The stack is reserved address space; pages are only committed as the recursion uses them.
    bool ok = pthread_attr_setstacksize(&attr, stack_bytes) == 0;
    pthread_t thread;
    ok = ok &&
         pthread_create(&thread, &attr, trampoline, const_cast<std::function<void()>*>(&fn)) == 0;
    pthread_attr_destroy(&attr);
    if (ok) pthread_join(thread, nullptr);
    return ok;
}

}  // namespace microvm::wasm
