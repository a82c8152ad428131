#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "errors.h"

namespace kpt {

// Why setns on the worker thread and not a dedicated thread per namespace:
// a socket belongs to the network namespace it was created in for its whole life, whatever
// namespace the thread using it is in later. So the worker thread only needs to be inside the
// target namespace for the single socket() call: setns in, socket(), setns back. That costs two
// system calls per operation and needs no long-lived threads, queues or per-namespace state.
// setns(CLONE_NEWNET) only affects the calling thread, so the other libuv pool threads (fs, dns,
// zlib, other workers of ours) never observe the switch.
//
// The one dangerous case is failing to switch back: the pool thread would then run unrelated
// future work (including other callers' netlink work) in the wrong namespace, silently. That
// would break the "never touch the wrong namespace" rule in the worst way, so it aborts the
// process instead (it has never been observed: setns back to a namespace we were just in only
// fails if the kernel is out of memory).

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

void ValidateNetnsName(const std::string& netns) {
  if (netns.empty() || netns == "." || netns == ".." || netns.size() > 255 ||
      netns.find('/') != std::string::npos || netns.find('\0') != std::string::npos) {
    throw NetlinkFailure(EINVAL, "invalid network namespace name '" + netns + "'");
  }
}

int OpenSocketInNetns(const std::string& netns, int domain, int type, int protocol) {
  if (netns.empty()) {
    int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
    if (fd < 0) throw SystemFailure(errno, "socket");
    return fd;
  }
  ValidateNetnsName(netns);
  const std::string path = "/var/run/netns/" + netns;
  Fd target(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (target.get() < 0) throw SystemFailure(errno, "open network namespace " + path);
  Fd original(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (original.get() < 0) throw SystemFailure(errno, "open /proc/thread-self/ns/net");

  if (setns(target.get(), CLONE_NEWNET) != 0) throw SystemFailure(errno, "setns into " + path);
  const int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
  const int socket_errno = errno;
  if (setns(original.get(), CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "kpt_netlink: cannot return worker thread to its network namespace (errno %d); aborting\n",
                 errno);
    std::abort();
  }
  if (fd < 0) throw SystemFailure(socket_errno, "socket in network namespace " + netns);
  return fd;
}

}  // namespace kpt
