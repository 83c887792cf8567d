// Threads with large, lazily committed stacks for deep RTFS recursion.
#include "rtfs/host/big_stack.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "capabilities.hpp"  // os_reason

namespace rtfs::host {

namespace {

// An anonymous mapping reserved without committing swap (MAP_NORESERVE), with an inaccessible
// guard page at its low end so that an overflow faults instead of corrupting memory.
class StackMapping {
  public:
    explicit StackMapping(size_t bytes) : size_(bytes + page_size()) {
        void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (p == MAP_FAILED) {
            errno_ = errno;
            return;
        }
        base_ = static_cast<char*>(p);
        if (mprotect(base_, page_size(), PROT_NONE) != 0) errno_ = errno;
    }
    ~StackMapping() {
        if (base_) munmap(base_, size_);
    }
    StackMapping(const StackMapping&) = delete;
    StackMapping& operator=(const StackMapping&) = delete;

    bool ok() const { return base_ && errno_ == 0; }
    int error() const { return errno_; }
    void* usable_base() const { return base_ + page_size(); }
    size_t usable_size() const { return size_ - page_size(); }

  private:
    static size_t page_size() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }
    size_t size_;
    char* base_ = nullptr;
    int errno_ = 0;
};

class ThreadAttr {
  public:
    ThreadAttr() { pthread_attr_init(&attr_); }
    ~ThreadAttr() { pthread_attr_destroy(&attr_); }
    ThreadAttr(const ThreadAttr&) = delete;
    ThreadAttr& operator=(const ThreadAttr&) = delete;
    pthread_attr_t* get() { return &attr_; }

  private:
    pthread_attr_t attr_;
};

void* thread_main(void* arg) {
    (*static_cast<std::function<void()>*>(arg))();
    return nullptr;
}

Unexpected<Error> cannot_start(size_t bytes, int err) {
    return error(ErrorKind::ResourceLimit, "cannot start an evaluation thread with a " +
                                               std::to_string(bytes >> 20) +
                                               " MiB stack: " + os_reason(err));
}

}  // namespace

Expected<void, Error> run_with_stack(size_t bytes, std::function<void()> fn) {
    StackMapping stack(bytes);
    if (!stack.ok()) return cannot_start(bytes, stack.error());
    ThreadAttr attr;
    int rc = pthread_attr_setstack(attr.get(), stack.usable_base(), stack.usable_size());
    if (rc != 0) return cannot_start(bytes, rc);
    pthread_t thread;
    rc = pthread_create(&thread, attr.get(), thread_main, &fn);
    if (rc != 0) return cannot_start(bytes, rc);
    pthread_join(thread, nullptr);  // the mapping outlives the thread
    return Ok{};
}

Result<Value> eval_on_big_stack(Interpreter& interp, std::string_view source, size_t stack_bytes) {
    std::optional<Result<Value>> result;
    RTFS_CHECK(run_with_stack(stack_bytes, [&] { result.emplace(interp.eval(source)); }));
    return std::move(*result);
}

}  // namespace rtfs::host
