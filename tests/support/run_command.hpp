// Test helper: runs a command as a user would (arguments, stdin text) and collects its exit
// status, stdout and stderr. Output goes to temporary files, so no pipe can fill and block.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace testsupport {

struct CommandResult {
    int status = -1;  // exit status; 128+N when killed by signal N
    std::string out;
    std::string err;
};

// A temporary file removed when it goes out of scope; by default in the system's temp directory.
class TempFile {
public:
    explicit TempFile(const std::string& content = "",
                      const std::filesystem::path& dir = std::filesystem::temp_directory_path()) {
        std::string tmpl = (dir / "microvm-test-XXXXXX").string();
        int fd = ::mkstemp(tmpl.data());
        if (fd >= 0) ::close(fd);
        path_ = tmpl;
        std::ofstream(path_, std::ios::binary) << content;
    }
    ~TempFile() { std::filesystem::remove(path_); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }
    std::string read() const {
        std::ifstream in(path_, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

private:
    std::string path_;
};

// cwd: the working directory of the command (empty: this process's own).
inline CommandResult run_command(const std::vector<std::string>& argv_in,
                                 const std::string& stdin_text = "", const std::string& cwd = "") {
    TempFile in(stdin_text), out, err;
    std::vector<std::string> argv_s = argv_in;
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        int i = ::open(in.path().c_str(), O_RDONLY);
        int o = ::open(out.path().c_str(), O_WRONLY | O_TRUNC);
        int e = ::open(err.path().c_str(), O_WRONLY | O_TRUNC);
        if (i < 0 || o < 0 || e < 0) _exit(250);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) _exit(252);
        ::dup2(i, 0);
        ::dup2(o, 1);
        ::dup2(e, 2);
        ::execv(argv[0], argv.data());
        _exit(251);
    }
    CommandResult r;
    int wstatus = 0;
    if (pid > 0 && ::waitpid(pid, &wstatus, 0) == pid) {
        if (WIFEXITED(wstatus)) r.status = WEXITSTATUS(wstatus);
        if (WIFSIGNALED(wstatus)) r.status = 128 + WTERMSIG(wstatus);
    }
    r.out = out.read();
    r.err = err.read();
    return r;
}

}  // namespace testsupport
