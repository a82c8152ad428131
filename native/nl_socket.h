// A netlink socket opened for one operation, and the request/ack and dump exchanges built on it.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nl_message.h"

namespace kpt {

// Decoded NLMSG_ERROR payload (error == 0 is an ACK).
struct AckInfo {
  uint32_t seq = 0;
  int error = 0;             // positive errno, 0 for success
  std::string message;       // extended ack text, if the kernel sent one
  int64_t offset = -1;       // extended ack: offset of the offending attribute in the request
};

// Parses an NLMSG_ERROR message. Throws ParseError when it is truncated.
AckInfo ParseAck(const Message& msg);

class NetlinkSocket {
 public:
  // Opens and binds a NETLINK_<protocol> socket in the named network namespace ("" = current),
  // with extended acks on and echoed requests capped (errors then stay small; the offending
  // request is still known to us because we keep what we sent).
  NetlinkSocket(int protocol, const std::string& netns);
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  uint32_t port_id() const { return port_id_; }

  // Raises the buffer limits with SO_*BUFFORCE (needs CAP_NET_ADMIN, like nft does) and falls
  // back to the unprivileged SO_*BUF. Sizes below the current value are ignored.
  void EnsureBufferSizes(size_t sndbuf, size_t rcvbuf);

  // One sendmsg() carrying all the iovecs (netlink sendmsg is all-or-nothing).
  void Send(const std::vector<iovec>& iov);
  void Send(const std::vector<uint8_t>& bytes);

  // Receives one datagram from the kernel into `out`. timeout_ms: -1 waits forever, 0 polls.
  // Returns false on timeout / nothing pending. Datagrams not sent by the kernel are dropped.
  bool Receive(std::vector<uint8_t>& out, int timeout_ms);

  // Checks that a reply message belongs to this socket (port id) and names a sequence number in
  // [first, last]; throws ParseError otherwise.
  void CheckReply(const Message& msg, uint32_t first_seq, uint32_t last_seq) const;

 private:
  int fd_ = -1;
  uint32_t port_id_ = 0;
  std::vector<uint8_t> scratch_;
};

// Sends `request` (messages with sequence numbers first_seq .. first_seq+count-1, each with
// NLM_F_ACK) and waits for one ack or error per message. Returns them indexed by seq - first_seq.
std::vector<AckInfo> ExchangeWithAcks(NetlinkSocket& sock, const std::vector<uint8_t>& request, uint32_t first_seq,
                                      size_t count, int timeout_ms);

// Like ExchangeWithAcks for many independent requests (rtnetlink, IPVS, conntrack): the messages
// in `request` start at `offsets` and carry seq first_seq + i. They are sent in as few sendmsg()
// calls as the receive buffer allows for their acks (each ack costs about 1 KiB of socket buffer
// accounting), and every message gets its own result since these subsystems have no transactions.
std::vector<AckInfo> ExchangeManyWithAcks(NetlinkSocket& sock, const std::vector<uint8_t>& request,
                                          const std::vector<size_t>& offsets, uint32_t first_seq, int timeout_ms,
                                          size_t* sendmsg_calls);

// Sends a dump request (NLM_F_DUMP) with sequence number `seq` and returns the raw datagrams up to
// and including NLMSG_DONE. A kernel error reply throws NetlinkFailure; an interrupted dump
// (NLM_F_DUMP_INTR: the table changed while it was being dumped) is retried a few times.
std::vector<std::vector<uint8_t>> DumpRaw(NetlinkSocket& sock, const std::vector<uint8_t>& request, uint32_t seq,
                                          int timeout_ms);

// Calls `fn` for every data message of dump datagrams (skipping NLMSG_DONE), checking port id and
// sequence number when `sock` is given (the parse-only test entry point passes none).
void ForEachDumpMessage(const std::vector<std::vector<uint8_t>>& datagrams, const NetlinkSocket* sock, uint32_t seq,
                        const std::function<void(const Message&)>& fn);

// Default wait for kernel replies: they are produced synchronously during sendmsg/recvmsg, so
// this only guards against a kernel that never answers.
constexpr int kReplyTimeoutMs = 30000;

}  // namespace kpt
