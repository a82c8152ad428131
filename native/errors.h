// Errors raised on worker threads and carried to JavaScript with their details.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace kpt {

// A failure with an errno (from a system call or from the kernel's NLMSG_ERROR reply), plus the
// kernel's extended ack when it sent one, and which operation of a batch it belongs to.
class NetlinkFailure : public std::runtime_error {
 public:
  NetlinkFailure(int err, const std::string& message) : std::runtime_error(message), err_(err) {}

  int err() const { return err_; }

  std::string extack_message;   // NLMSGERR_ATTR_MSG
  int64_t extack_offset = -1;   // NLMSGERR_ATTR_OFFS: byte offset inside the failing request
  int64_t op_index = -1;        // index of the failing operation in the caller's list
  int64_t message_seq = -1;     // sequence number of the failing message

 private:
  int err_;
};

// Builds a NetlinkFailure for a failed system call: "<what>: <strerror>".
NetlinkFailure SystemFailure(int err, const std::string& what);

// "ENOENT", "EPERM", ... ("E<number>" when glibc has no name for it).
std::string ErrnoName(int err);

}  // namespace kpt
