#include "native_stack.hpp"

#if defined(__linux__) && defined(__GLIBC__)
#include <pthread.h>
#endif

namespace rtfs::detail {

namespace {
constexpr size_t kFallbackStackBytes = 512 * 1024;
}

size_t usable_stack_below(uintptr_t here) {
#if defined(__linux__) && defined(__GLIBC__)
    constexpr size_t kStackSafetyMargin = 128 * 1024;
    // A thread's stack bounds do not change; asking glibc for them reads /proc/self/maps on the
    // main thread, far too slow for every read or evaluation, so each thread asks once.
    thread_local const uintptr_t lowest = [] {
        pthread_attr_t attr;
        void* addr = nullptr;
        size_t size = 0;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            pthread_attr_getstack(&attr, &addr, &size);
            pthread_attr_destroy(&attr);
        }
        return reinterpret_cast<uintptr_t>(addr);
    }();
    if (lowest && here > lowest + kStackSafetyMargin)
        return static_cast<size_t>(here - lowest) - kStackSafetyMargin;
#endif
    (void)here;
    return kFallbackStackBytes;
}

}  // namespace rtfs::detail
