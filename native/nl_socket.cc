#include "nl_socket.h"

#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "errors.h"
#include "netns.h"

namespace kpt {

namespace {

// Largest datagram we accept. With NETLINK_CAP_ACK errors are small, and dump datagrams are
// bounded by the kernel (about 32 KiB); anything larger is reported instead of silently cut.
constexpr size_t kReceiveBufferSize = 1 << 20;

void SetIntOption(int fd, int level, int name, int value) {
  if (setsockopt(fd, level, name, &value, sizeof value) != 0) throw SystemFailure(errno, "setsockopt");
}

int GetIntOption(int fd, int level, int name) {
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, level, name, &value, &len) != 0) return 0;
  return value;
}

void RaiseBuffer(int fd, int force_opt, int plain_opt, size_t wanted) {
  // The kernel doubles the value it is given and reports the doubled value back.
  const size_t capped = std::min<size_t>(wanted, INT32_MAX / 2);
  if (static_cast<size_t>(GetIntOption(fd, SOL_SOCKET, plain_opt)) >= capped * 2) return;
  const int v = static_cast<int>(capped);
  if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof v) == 0) return;
  // Without CAP_NET_ADMIN only the rmem_max/wmem_max-limited option works.
  setsockopt(fd, SOL_SOCKET, plain_opt, &v, sizeof v);
}

}  // namespace

AckInfo ParseAck(const Message& msg) {
  AckInfo info;
  info.seq = msg.hdr.nlmsg_seq;
  if (msg.payload_len < sizeof(nlmsgerr)) throw ParseError("NLMSG_ERROR shorter than struct nlmsgerr");
  nlmsgerr err;
  std::memcpy(&err, msg.payload, sizeof err);
  info.error = -err.error;
  if (err.error > 0) throw ParseError("NLMSG_ERROR with positive error code");
  if (!(msg.hdr.nlmsg_flags & NLM_F_ACK_TLVS)) return info;

  // The echoed request follows unless the kernel capped it.
  size_t tlv_start = sizeof(nlmsgerr);
  if (!(msg.hdr.nlmsg_flags & NLM_F_CAPPED)) {
    if (err.msg.nlmsg_len < NLMSG_HDRLEN) throw ParseError("echoed request with invalid length");
    tlv_start = sizeof(int) + NLMSG_ALIGN(err.msg.nlmsg_len);
  }
  if (tlv_start > msg.payload_len) throw ParseError("extended ack beyond end of message");
  AttrReader reader(msg.payload + tlv_start, msg.payload_len - tlv_start);
  Attr a;
  while (reader.Next(a)) {
    if (a.type == NLMSGERR_ATTR_MSG) info.message = a.Str();
    if (a.type == NLMSGERR_ATTR_OFFS) info.offset = a.U32();
  }
  return info;
}

NetlinkSocket::NetlinkSocket(int protocol, const std::string& netns) {
  fd_ = OpenSocketInNetns(netns, AF_NETLINK, SOCK_RAW, protocol);
  try {
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) throw SystemFailure(errno, "bind");
    socklen_t len = sizeof local;
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len) != 0) throw SystemFailure(errno, "getsockname");
    port_id_ = local.nl_pid;
    SetIntOption(fd_, SOL_NETLINK, NETLINK_EXT_ACK, 1);
    SetIntOption(fd_, SOL_NETLINK, NETLINK_CAP_ACK, 1);
  } catch (...) {
    close(fd_);
    throw;
  }
}

NetlinkSocket::~NetlinkSocket() {
  if (fd_ >= 0) close(fd_);
}

void NetlinkSocket::EnsureBufferSizes(size_t sndbuf, size_t rcvbuf) {
  if (sndbuf) RaiseBuffer(fd_, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf);
  if (rcvbuf) RaiseBuffer(fd_, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
}

void NetlinkSocket::Send(const std::vector<iovec>& iov) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof kernel;
  msg.msg_iov = const_cast<iovec*>(iov.data());
  msg.msg_iovlen = iov.size();
  ssize_t n;
  do {
    n = sendmsg(fd_, &msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw SystemFailure(errno, "sendmsg");
}

void NetlinkSocket::Send(const std::vector<uint8_t>& bytes) {
  std::vector<iovec> iov{{const_cast<uint8_t*>(bytes.data()), bytes.size()}};
  Send(iov);
}

bool NetlinkSocket::Receive(std::vector<uint8_t>& out, int timeout_ms) {
  for (;;) {
    pollfd pfd{fd_, POLLIN, 0};
    int ready;
    do {
      ready = poll(&pfd, 1, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) throw SystemFailure(errno, "poll");
    if (ready == 0) return false;

    // One buffer per socket, allocated once: resizing `out` to 1 MiB per datagram would
    // zero-fill a megabyte for every few kilobytes received.
    if (scratch_.size() < kReceiveBufferSize) scratch_.resize(kReceiveBufferSize);
    sockaddr_nl from{};
    iovec iov{scratch_.data(), scratch_.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n;
    do {
      n = recvmsg(fd_, &msg, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN) continue;
      // ENOBUFS: replies were dropped because the receive buffer overflowed.
      throw SystemFailure(errno, "recvmsg");
    }
    if (msg.msg_flags & MSG_TRUNC) throw ParseError("datagram larger than the receive buffer");
    if (msg.msg_namelen != sizeof from || from.nl_pid != 0) continue;  // not from the kernel
    out.assign(scratch_.begin(), scratch_.begin() + n);
    return true;
  }
}

void NetlinkSocket::CheckReply(const Message& msg, uint32_t first_seq, uint32_t last_seq) const {
  if (msg.hdr.nlmsg_pid != port_id_) {
    throw ParseError("reply for port id " + std::to_string(msg.hdr.nlmsg_pid) + ", ours is " +
                     std::to_string(port_id_));
  }
  if (msg.hdr.nlmsg_seq < first_seq || msg.hdr.nlmsg_seq > last_seq) {
    throw ParseError("reply with unexpected sequence number " + std::to_string(msg.hdr.nlmsg_seq));
  }
}

std::vector<AckInfo> ExchangeWithAcks(NetlinkSocket& sock, const std::vector<uint8_t>& request, uint32_t first_seq,
                                      size_t count, int timeout_ms) {
  std::vector<AckInfo> acks(count);
  std::vector<bool> seen(count, false);
  if (count == 0) return acks;
  sock.Send(request);
  const uint32_t last_seq = first_seq + static_cast<uint32_t>(count) - 1;
  size_t pending = count;
  std::vector<uint8_t> buf;
  while (pending > 0) {
    if (!sock.Receive(buf, timeout_ms)) throw NetlinkFailure(ETIMEDOUT, "no reply from the kernel");
    MessageReader reader(buf.data(), buf.size());
    Message msg;
    while (reader.Next(msg)) {
      if (msg.hdr.nlmsg_type != NLMSG_ERROR) continue;  // e.g. echo of a new object; not needed
      sock.CheckReply(msg, first_seq, last_seq);
      AckInfo ack = ParseAck(msg);
      const size_t index = ack.seq - first_seq;
      if (!seen[index]) {
        seen[index] = true;
        pending--;
      }
      acks[index] = std::move(ack);
    }
  }
  return acks;
}

std::vector<AckInfo> ExchangeManyWithAcks(NetlinkSocket& sock, const std::vector<uint8_t>& request,
                                          const std::vector<size_t>& offsets, uint32_t first_seq, int timeout_ms,
                                          size_t* sendmsg_calls) {
  constexpr size_t kAcksPerSend = 2048;
  constexpr size_t kAckBufferBytes = kAcksPerSend * 1024;
  sock.EnsureBufferSizes(std::min<size_t>(request.size(), 32u << 20) + 65536, kAckBufferBytes);
  std::vector<AckInfo> all;
  all.reserve(offsets.size());
  size_t calls = 0;
  for (size_t begin = 0; begin < offsets.size(); begin += kAcksPerSend) {
    const size_t end = std::min(offsets.size(), begin + kAcksPerSend);
    const size_t from = offsets[begin];
    const size_t to = end < offsets.size() ? offsets[end] : request.size();
    std::vector<uint8_t> part(request.begin() + static_cast<std::ptrdiff_t>(from),
                              request.begin() + static_cast<std::ptrdiff_t>(to));
    auto acks = ExchangeWithAcks(sock, part, first_seq + static_cast<uint32_t>(begin), end - begin, timeout_ms);
    calls++;
    for (auto& a : acks) all.push_back(std::move(a));
  }
  if (sendmsg_calls) *sendmsg_calls = calls;
  return all;
}

std::vector<std::vector<uint8_t>> DumpRaw(NetlinkSocket& sock, const std::vector<uint8_t>& request, uint32_t seq,
                                          int timeout_ms) {
  constexpr int kAttempts = 4;
  for (int attempt = 1;; attempt++) {
    std::vector<std::vector<uint8_t>> datagrams;
    bool interrupted = false;
    sock.Send(request);
    for (bool done = false; !done;) {
      std::vector<uint8_t> buf;
      if (!sock.Receive(buf, timeout_ms)) throw NetlinkFailure(ETIMEDOUT, "dump did not finish");
      MessageReader reader(buf.data(), buf.size());
      Message msg;
      while (reader.Next(msg)) {
        sock.CheckReply(msg, seq, seq);
        if (msg.hdr.nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
        if (msg.hdr.nlmsg_type == NLMSG_ERROR) {
          AckInfo ack = ParseAck(msg);
          if (ack.error == 0) continue;
          NetlinkFailure failure(ack.error, "dump request failed: " + std::string(strerror(ack.error)) +
                                                (ack.message.empty() ? "" : " (" + ack.message + ")"));
          failure.extack_message = ack.message;
          failure.extack_offset = ack.offset;
          throw failure;
        }
        if (msg.hdr.nlmsg_type == NLMSG_DONE) {
          if (msg.payload_len >= sizeof(int)) {
            int status;
            std::memcpy(&status, msg.payload, sizeof status);
            if (status < 0) throw NetlinkFailure(-status, "dump failed: " + std::string(strerror(-status)));
          }
          done = true;
        }
      }
      datagrams.push_back(std::move(buf));
    }
    if (!interrupted) return datagrams;
    if (attempt == kAttempts) throw NetlinkFailure(EINTR, "dump kept being interrupted by concurrent changes");
  }
}

void ForEachDumpMessage(const std::vector<std::vector<uint8_t>>& datagrams, const NetlinkSocket* sock, uint32_t seq,
                        const std::function<void(const Message&)>& fn) {
  for (const auto& datagram : datagrams) {
    MessageReader reader(datagram.data(), datagram.size());
    Message msg;
    while (reader.Next(msg)) {
      if (sock) sock->CheckReply(msg, seq, seq);
      if (msg.hdr.nlmsg_type == NLMSG_DONE || msg.hdr.nlmsg_type == NLMSG_ERROR ||
          msg.hdr.nlmsg_type == NLMSG_NOOP) {
        continue;
      }
      fn(msg);
    }
  }
}

}  // namespace kpt
