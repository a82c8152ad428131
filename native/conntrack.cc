// nfnetlink conntrack: listing connection tracking entries with a filter and deleting them
// (kube-proxy clears stale UDP entries that still point at endpoints that went away).
#include "conntrack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "async.h"
#include "inet.h"
#include "wire.h"
#include "nl_message.h"
#include "nl_socket.h"

namespace kpt {

namespace {

constexpr uint16_t CtType(uint16_t msg) { return static_cast<uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | msg); }

struct Tuple {
  int family = 0;
  InetAddress src, dst;
  uint8_t protocol = 0;
  std::optional<uint16_t> src_port, dst_port;
};

struct Entry {
  int family = 0;
  Tuple orig, reply;
  uint32_t id = 0;
  bool has_id = false;
  uint16_t zone = 0;
  Value value;  // what we return to JavaScript
};

struct Filter {
  int family = AF_UNSPEC;
  std::optional<uint8_t> protocol;
  std::optional<InetAddress> orig_src, orig_dst, reply_src;
  std::optional<uint16_t> orig_dst_port;
};

Filter ReadFilter(const Napi::Value& v) {
  Filter f;
  if (v.IsUndefined() || v.IsNull()) return f;
  if (!v.IsObject()) throw InputError("filter must be an object");
  auto o = v.As<Napi::Object>();
  if (auto family = OptU32Prop(o, "family")) {
    if (*family != AF_INET && *family != AF_INET6) throw InputError("family must be 2 or 10");
    f.family = static_cast<int>(*family);
  }
  if (auto p = OptU32Prop(o, "protocol")) {
    if (*p > 255) throw InputError("protocol out of range");
    f.protocol = static_cast<uint8_t>(*p);
  }
  if (auto a = OptStringProp(o, "origSrc")) f.orig_src = ParseInetAddress(*a, "origSrc");
  if (auto a = OptStringProp(o, "origDst")) f.orig_dst = ParseInetAddress(*a, "origDst");
  if (auto a = OptStringProp(o, "replySrc")) f.reply_src = ParseInetAddress(*a, "replySrc");
  if (auto p = OptU32Prop(o, "origDstPort")) {
    if (*p > 65535) throw InputError("origDstPort out of range");
    f.orig_dst_port = static_cast<uint16_t>(*p);
  }
  return f;
}

bool SameAddress(const InetAddress& a, const InetAddress& b) {
  return a.family == b.family && std::memcmp(a.bytes, b.bytes, a.len()) == 0;
}

bool Matches(const Filter& f, const Entry& e) {
  if (f.family != AF_UNSPEC && e.family != f.family) return false;
  if (f.protocol && e.orig.protocol != *f.protocol) return false;
  if (f.orig_src && !SameAddress(*f.orig_src, e.orig.src)) return false;
  if (f.orig_dst && !SameAddress(*f.orig_dst, e.orig.dst)) return false;
  if (f.reply_src && !SameAddress(*f.reply_src, e.reply.src)) return false;
  if (f.orig_dst_port && e.orig.dst_port != f.orig_dst_port) return false;
  return true;
}

Tuple DecodeTuple(const Attr& nest, int family) {
  Tuple t;
  t.family = family;
  AttrTable<CTA_TUPLE_MAX> tuple(nest);
  AttrTable<CTA_IP_MAX> ip(tuple.Require(CTA_TUPLE_IP, "CTA_TUPLE_IP"));
  auto read_addr = [&](int v4, int v6, InetAddress& out, const char* what) {
    const Attr* a = ip.Get(family == AF_INET6 ? v6 : v4);
    if (!a) throw ParseError(std::string("missing ") + what);
    if (a->len != (family == AF_INET6 ? 16u : 4u)) throw ParseError(std::string(what) + " has the wrong length");
    out.family = family;
    std::memcpy(out.bytes, a->data, a->len);
  };
  read_addr(CTA_IP_V4_SRC, CTA_IP_V6_SRC, t.src, "tuple source address");
  read_addr(CTA_IP_V4_DST, CTA_IP_V6_DST, t.dst, "tuple destination address");
  AttrTable<CTA_PROTO_MAX> proto(tuple.Require(CTA_TUPLE_PROTO, "CTA_TUPLE_PROTO"));
  t.protocol = proto.Require(CTA_PROTO_NUM, "CTA_PROTO_NUM").U8();
  if (const Attr* p = proto.Get(CTA_PROTO_SRC_PORT)) t.src_port = p->Be16();
  if (const Attr* p = proto.Get(CTA_PROTO_DST_PORT)) t.dst_port = p->Be16();
  return t;
}

Value TupleValue(const Tuple& t) {
  Value v = Value::Object();
  v.Set("src", Value::Str(FormatInetAddress(t.family, t.src.bytes, t.src.len())));
  v.Set("dst", Value::Str(FormatInetAddress(t.family, t.dst.bytes, t.dst.len())));
  if (t.src_port) v.Set("srcPort", Value::Number(*t.src_port));
  if (t.dst_port) v.Set("dstPort", Value::Number(*t.dst_port));
  return v;
}

Entry DecodeEntry(const Message& m) {
  const auto g = m.FamilyHeader<nfgenmsg>();
  if (g.nfgen_family != AF_INET && g.nfgen_family != AF_INET6) {
    throw ParseError("conntrack entry of family " + std::to_string(g.nfgen_family));
  }
  auto t = m.TableAfter<nfgenmsg, CTA_MAX>();
  Entry e;
  e.family = g.nfgen_family;
  e.orig = DecodeTuple(t.Require(CTA_TUPLE_ORIG, "CTA_TUPLE_ORIG"), e.family);
  e.reply = DecodeTuple(t.Require(CTA_TUPLE_REPLY, "CTA_TUPLE_REPLY"), e.family);
  e.value = Value::Object();
  e.value.Set("family", Value::Number(e.family));
  e.value.Set("protocol", Value::Number(e.orig.protocol));
  e.value.Set("orig", TupleValue(e.orig));
  e.value.Set("reply", TupleValue(e.reply));
  if (const Attr* a = t.Get(CTA_STATUS)) e.value.Set("status", Value::Number(a->Be32()));
  if (const Attr* a = t.Get(CTA_TIMEOUT)) e.value.Set("timeout", Value::Number(a->Be32()));
  if (const Attr* a = t.Get(CTA_MARK)) e.value.Set("mark", Value::Number(a->Be32()));
  if (const Attr* a = t.Get(CTA_ZONE)) {
    e.zone = a->Be16();
    e.value.Set("zone", Value::Number(e.zone));
  }
  if (const Attr* a = t.Get(CTA_ID)) {
    e.id = a->Be32();
    e.has_id = true;
    e.value.Set("id", Value::Number(e.id));
  }
  return e;
}

std::vector<Entry> DecodeEntries(const std::vector<std::vector<uint8_t>>& datagrams, const NetlinkSocket* sock,
                                 uint32_t seq) {
  std::vector<Entry> out;
  ForEachDumpMessage(datagrams, sock, seq, [&](const Message& m) {
    if ((m.hdr.nlmsg_type >> 8) != NFNL_SUBSYS_CTNETLINK) {
      throw ParseError("reply from nfnetlink subsystem " + std::to_string(m.hdr.nlmsg_type >> 8));
    }
    out.push_back(DecodeEntry(m));
  });
  return out;
}

std::vector<Entry> ListEntries(NetlinkSocket& sock, int family) {
  MessageWriter w;
  auto msg = w.BeginMessage(CtType(IPCTNL_MSG_CT_GET), NLM_F_REQUEST | NLM_F_DUMP, 1);
  nfgenmsg hdr{};
  hdr.nfgen_family = static_cast<uint8_t>(family);
  hdr.version = NFNETLINK_V0;
  w.PutHeader(hdr);
  w.EndMessage(msg);
  auto datagrams = DumpRaw(sock, w.Bytes(), 1, kReplyTimeoutMs);
  return DecodeEntries(datagrams, &sock, 1);
}

void PutTuple(MessageWriter& w, uint16_t type, const Tuple& t) {
  auto tuple = w.BeginNest(type);
  auto ip = w.BeginNest(CTA_TUPLE_IP);
  const bool v6 = t.family == AF_INET6;
  w.PutAttr(v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, t.src.bytes, t.src.len());
  w.PutAttr(v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, t.dst.bytes, t.dst.len());
  w.EndNest(ip);
  auto proto = w.BeginNest(CTA_TUPLE_PROTO);
  w.PutU8(CTA_PROTO_NUM, t.protocol);
  if (t.src_port) w.PutBe16(CTA_PROTO_SRC_PORT, *t.src_port);
  if (t.dst_port) w.PutBe16(CTA_PROTO_DST_PORT, *t.dst_port);
  w.EndNest(proto);
  w.EndNest(tuple);
}

Napi::Value ListJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Filter filter;
  try {
    filter = ReadFilter(info.Length() > 0 ? info[0] : env.Undefined());
  } catch (const InputError& e) {
    throw Napi::TypeError::New(env, e.what());
  }
  const std::string netns = NetnsArg(info.Length() > 1 ? info[1] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:conntrackList", [filter, netns]() {
    NetlinkSocket sock(NETLINK_NETFILTER, netns);
    Value out = Value::Array();
    for (auto& e : ListEntries(sock, filter.family)) {
      if (Matches(filter, e)) out.Push(std::move(e.value));
    }
    return out;
  });
}

Napi::Value DeleteJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Filter filter;
  try {
    filter = ReadFilter(info.Length() > 0 ? info[0] : env.Undefined());
  } catch (const InputError& e) {
    throw Napi::TypeError::New(env, e.what());
  }
  if (!filter.protocol) throw Napi::TypeError::New(env, "deleting conntrack entries needs at least filter.protocol");
  const std::string netns = NetnsArg(info.Length() > 1 ? info[1] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:conntrackDelete", [filter, netns]() {
    NetlinkSocket sock(NETLINK_NETFILTER, netns);
    std::vector<Entry> victims;
    for (auto& e : ListEntries(sock, filter.family)) {
      if (Matches(filter, e)) victims.push_back(std::move(e));
    }
    MessageWriter w;
    std::vector<size_t> offsets;
    constexpr uint32_t first_seq = 2;
    uint32_t seq = first_seq;
    for (const auto& e : victims) {
      offsets.push_back(w.Size());
      auto msg = w.BeginMessage(CtType(IPCTNL_MSG_CT_DELETE), NLM_F_REQUEST | NLM_F_ACK, seq++);
      nfgenmsg hdr{};
      hdr.nfgen_family = static_cast<uint8_t>(e.family);
      hdr.version = NFNETLINK_V0;
      w.PutHeader(hdr);
      PutTuple(w, CTA_TUPLE_ORIG, e.orig);
      if (e.zone) w.PutBe16(CTA_ZONE, e.zone);
      // The id pins the exact entry we listed, not a new one that reused its tuple since.
      if (e.has_id) w.PutBe32(CTA_ID, e.id);
      w.EndMessage(msg);
    }
    size_t calls = 0;
    auto acks = ExchangeManyWithAcks(sock, w.Bytes(), offsets, first_seq, kReplyTimeoutMs, &calls);
    size_t deleted = 0;
    size_t gone = 0;
    for (const auto& ack : acks) {
      if (ack.error == 0) {
        deleted++;
      } else if (ack.error == ENOENT) {
        gone++;  // expired or deleted by someone else between the dump and the delete
      } else {
        throw NetlinkFailure(ack.error, std::string("deleting a conntrack entry failed: ") + std::strerror(ack.error));
      }
    }
    Value out = Value::Object();
    out.Set("matched", Value::Number(static_cast<double>(victims.size())));
    out.Set("deleted", Value::Number(static_cast<double>(deleted)));
    out.Set("alreadyGone", Value::Number(static_cast<double>(gone)));
    out.Set("sendmsgCalls", Value::Number(static_cast<double>(calls)));
    return out;
  });
}

}  // namespace

Value ParseConntrackReplies(const uint8_t* data, size_t len) {
  std::vector<std::vector<uint8_t>> datagrams{std::vector<uint8_t>(data, data + len)};
  Value out = Value::Array();
  for (auto& e : DecodeEntries(datagrams, nullptr, 0)) out.Push(std::move(e.value));
  return out;
}

void RegisterConntrack(Napi::Env env, Napi::Object exports) {
  exports.Set("conntrackList", Napi::Function::New(env, ListJs, "conntrackList"));
  exports.Set("conntrackDelete", Napi::Function::New(env, DeleteJs, "conntrackDelete"));
}

}  // namespace kpt
