// Netlink message building and bounds-checked parsing.
//
// Writers never expose raw offsets to callers: a message or a nested attribute is opened with
// Begin*/returns a token and closed with End*, which patches the length. Readers validate every
// length against the bytes actually received and throw ParseError instead of reading past the end.
#pragma once

#include <linux/netlink.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kpt {

// A reply that does not follow the netlink framing rules (bad length, truncated attribute, wrong
// payload size). Always reported to JavaScript as an error, never a crash.
class ParseError : public std::runtime_error {
 public:
  explicit ParseError(const std::string& what) : std::runtime_error("malformed netlink reply: " + what) {}
};

// An attribute or message that cannot be encoded (e.g. a nested attribute larger than the 16-bit
// nla_len allows). Raised while building, before anything is sent.
class EncodeError : public std::runtime_error {
 public:
  explicit EncodeError(const std::string& what) : std::runtime_error(what) {}
};

constexpr size_t Align4(size_t n) { return (n + 3u) & ~size_t{3}; }

// Appends netlink messages to a growable byte vector.
class MessageWriter {
 public:
  struct MessageToken { size_t start; };
  struct NestToken { size_t start; };

  MessageToken BeginMessage(uint16_t type, uint16_t flags, uint32_t seq) {
    MessageToken token{buf_.size()};
    nlmsghdr hdr{};
    hdr.nlmsg_type = type;
    hdr.nlmsg_flags = flags;
    hdr.nlmsg_seq = seq;
    hdr.nlmsg_pid = 0;  // the kernel fills in the sender's port id
    Append(&hdr, sizeof hdr);
    return token;
  }

  void EndMessage(MessageToken token) {
    const size_t len = buf_.size() - token.start;
    if (len > UINT32_MAX) throw EncodeError("netlink message larger than 4 GiB");
    const uint32_t len32 = static_cast<uint32_t>(len);
    std::memcpy(buf_.data() + token.start + offsetof(nlmsghdr, nlmsg_len), &len32, sizeof len32);
  }

  // Family header (nfgenmsg, genlmsghdr, ifinfomsg, ...), padded to 4 bytes.
  template <typename Header>
  void PutHeader(const Header& header) {
    Append(&header, sizeof header);
    Pad();
  }

  void PutAttr(uint16_t type, const void* data, size_t len) {
    const size_t total = NLA_HDRLEN + len;
    if (total > UINT16_MAX) throw EncodeError("attribute " + std::to_string(type) + " larger than 65535 bytes");
    nlattr attr{static_cast<uint16_t>(total), type};
    Append(&attr, sizeof attr);
    Append(data, len);
    Pad();
  }
  void PutU8(uint16_t type, uint8_t v) { PutAttr(type, &v, sizeof v); }
  void PutU16(uint16_t type, uint16_t v) { PutAttr(type, &v, sizeof v); }
  void PutU32(uint16_t type, uint32_t v) { PutAttr(type, &v, sizeof v); }
  void PutU64(uint16_t type, uint64_t v) { PutAttr(type, &v, sizeof v); }
  void PutBe16(uint16_t type, uint16_t v) { PutU16(type, __builtin_bswap16(v)); }
  void PutBe32(uint16_t type, uint32_t v) { PutU32(type, __builtin_bswap32(v)); }
  void PutBe64(uint16_t type, uint64_t v) { PutU64(type, __builtin_bswap64(v)); }
  // NUL-terminated string, as the kernel's NLA_STRING/NLA_NUL_STRING policies expect.
  void PutString(uint16_t type, std::string_view s) {
    const size_t total = NLA_HDRLEN + s.size() + 1;
    if (total > UINT16_MAX) throw EncodeError("string attribute too long");
    nlattr attr{static_cast<uint16_t>(total), type};
    Append(&attr, sizeof attr);
    Append(s.data(), s.size());
    buf_.push_back(0);
    Pad();
  }

  NestToken BeginNest(uint16_t type) {
    NestToken token{buf_.size()};
    nlattr attr{0, static_cast<uint16_t>(type | NLA_F_NESTED)};
    Append(&attr, sizeof attr);
    return token;
  }
  void EndNest(NestToken token) {
    const size_t len = buf_.size() - token.start;
    if (len > UINT16_MAX) throw EncodeError("nested attribute larger than 65535 bytes");
    const uint16_t len16 = static_cast<uint16_t>(len);
    std::memcpy(buf_.data() + token.start + offsetof(nlattr, nla_len), &len16, sizeof len16);
  }
  // Size of a nest opened but not yet closed: lets callers split before nla_len overflows.
  size_t OpenNestSize(NestToken token) const { return buf_.size() - token.start; }

  size_t Size() const { return buf_.size(); }
  const uint8_t* Data() const { return buf_.data(); }
  std::vector<uint8_t>& Bytes() { return buf_; }
  // Drops everything written after `size` (used to undo a partly written element on overflow).
  void Truncate(size_t size) { buf_.resize(size); }
  void Reserve(size_t n) { buf_.reserve(n); }

 private:
  void Append(const void* data, size_t len) {
    const auto* p = static_cast<const uint8_t*>(data);
    buf_.insert(buf_.end(), p, p + len);
  }
  void Pad() { buf_.resize(Align4(buf_.size()), 0); }

  std::vector<uint8_t> buf_;
};

// One attribute inside a received message; data/len exclude the attribute header.
struct Attr {
  uint16_t type = 0;  // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
  const uint8_t* data = nullptr;
  size_t len = 0;

  uint8_t U8() const { return Fixed<uint8_t>(); }
  uint16_t U16() const { return Fixed<uint16_t>(); }
  uint32_t U32() const { return Fixed<uint32_t>(); }
  uint64_t U64() const { return Fixed<uint64_t>(); }
  uint16_t Be16() const { return __builtin_bswap16(U16()); }
  uint32_t Be32() const { return __builtin_bswap32(U32()); }
  uint64_t Be64() const { return __builtin_bswap64(U64()); }
  // Strings may or may not carry their NUL; anything after the first NUL is ignored.
  std::string Str() const {
    const void* nul = std::memchr(data, 0, len);
    return std::string(reinterpret_cast<const char*>(data), nul ? static_cast<const uint8_t*>(nul) - data : len);
  }
  std::vector<uint8_t> Bytes() const { return std::vector<uint8_t>(data, data + len); }

 private:
  template <typename T>
  T Fixed() const {
    if (len < sizeof(T)) {
      throw ParseError("attribute " + std::to_string(type) + " has " + std::to_string(len) + " bytes, expected " +
                       std::to_string(sizeof(T)));
    }
    T v;
    std::memcpy(&v, data, sizeof v);
    return v;
  }
};

// Iterates over the attributes in [data, data+len), validating each header.
class AttrReader {
 public:
  AttrReader(const uint8_t* data, size_t len) : p_(data), end_(data + len) {}
  explicit AttrReader(const Attr& nest) : AttrReader(nest.data, nest.len) {}

  bool Next(Attr& out) {
    const size_t left = static_cast<size_t>(end_ - p_);
    if (left == 0) return false;
    if (left < NLA_HDRLEN) {
      // Trailing padding shorter than an attribute header is tolerated only if it is zero.
      for (size_t i = 0; i < left; i++) {
        if (p_[i] != 0) throw ParseError("truncated attribute header");
      }
      p_ = end_;
      return false;
    }
    nlattr hdr;
    std::memcpy(&hdr, p_, sizeof hdr);
    if (hdr.nla_len < NLA_HDRLEN || hdr.nla_len > left) {
      throw ParseError("attribute length " + std::to_string(hdr.nla_len) + " outside 4.." + std::to_string(left));
    }
    out.type = hdr.nla_type & NLA_TYPE_MASK;
    out.data = p_ + NLA_HDRLEN;
    out.len = hdr.nla_len - NLA_HDRLEN;
    p_ += std::min(Align4(hdr.nla_len), left);
    return true;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// Attributes indexed by type (the last occurrence wins), for types up to Max.
template <size_t Max>
class AttrTable {
 public:
  AttrTable(const uint8_t* data, size_t len) { Fill(AttrReader(data, len)); }
  explicit AttrTable(const Attr& nest) { Fill(AttrReader(nest)); }

  const Attr* Get(size_t type) const { return type <= Max && present_[type] ? &attrs_[type] : nullptr; }
  const Attr& Require(size_t type, const char* what) const {
    const Attr* a = Get(type);
    if (!a) throw ParseError(std::string("missing attribute ") + what);
    return *a;
  }

 private:
  void Fill(AttrReader reader) {
    Attr a;
    while (reader.Next(a)) {
      if (a.type <= Max) {
        attrs_[a.type] = a;
        present_[a.type] = true;
      }
    }
  }
  Attr attrs_[Max + 1]{};
  bool present_[Max + 1]{};
};

// One message inside a received datagram.
struct Message {
  nlmsghdr hdr{};
  const uint8_t* payload = nullptr;  // after the nlmsghdr
  size_t payload_len = 0;

  // The family header (e.g. nfgenmsg) followed by attributes.
  template <typename Header>
  Header FamilyHeader() const {
    if (payload_len < sizeof(Header)) throw ParseError("message shorter than its family header");
    Header h;
    std::memcpy(&h, payload, sizeof h);
    return h;
  }
  template <typename Header>
  AttrReader AttrsAfter() const {
    const size_t skip = Align4(sizeof(Header));
    if (payload_len < skip) throw ParseError("message shorter than its family header");
    return AttrReader(payload + skip, payload_len - skip);
  }
  template <typename Header, size_t Max>
  AttrTable<Max> TableAfter() const {
    const size_t skip = Align4(sizeof(Header));
    if (payload_len < skip) throw ParseError("message shorter than its family header");
    return AttrTable<Max>(payload + skip, payload_len - skip);
  }
};

// Iterates over the messages of one received datagram.
class MessageReader {
 public:
  MessageReader(const uint8_t* data, size_t len) : p_(data), end_(data + len) {}

  bool Next(Message& out) {
    const size_t left = static_cast<size_t>(end_ - p_);
    if (left == 0) return false;
    if (left < NLMSG_HDRLEN) throw ParseError("truncated message header (" + std::to_string(left) + " bytes)");
    std::memcpy(&out.hdr, p_, sizeof out.hdr);
    if (out.hdr.nlmsg_len < NLMSG_HDRLEN || out.hdr.nlmsg_len > left) {
      throw ParseError("message length " + std::to_string(out.hdr.nlmsg_len) + " outside 16.." + std::to_string(left));
    }
    out.payload = p_ + NLMSG_HDRLEN;
    out.payload_len = out.hdr.nlmsg_len - NLMSG_HDRLEN;
    p_ += std::min<size_t>(NLMSG_ALIGN(out.hdr.nlmsg_len), left);
    return true;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace kpt
