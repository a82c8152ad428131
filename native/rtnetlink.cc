// rtnetlink: links (create/delete/up/list) and addresses (add/delete/list), what the IPVS mode
// needs for its kube-ipvs0 dummy interface.
#include "rtnetlink.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "async.h"
#include "inet.h"
#include "wire.h"
#include "nl_message.h"
#include "nl_socket.h"

namespace kpt {

namespace {

constexpr uint16_t kAckFlags = NLM_F_REQUEST | NLM_F_ACK;

std::string CheckedIfname(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name.find('/') != std::string::npos) {
    throw InputError("invalid interface name '" + name + "'");
  }
  return name;
}

[[noreturn]] void ThrowAck(const AckInfo& ack, const std::string& what) {
  NetlinkFailure failure(ack.error, what + ": " + std::strerror(ack.error) +
                                        (ack.message.empty() ? "" : " (" + ack.message + ")"));
  failure.extack_message = ack.message;
  failure.extack_offset = ack.offset;
  throw failure;
}

// One request, one ack.
void RequestAck(NetlinkSocket& sock, MessageWriter& w, uint32_t seq, const std::string& what) {
  auto acks = ExchangeWithAcks(sock, w.Bytes(), seq, 1, kReplyTimeoutMs);
  if (acks[0].error != 0) ThrowAck(acks[0], what);
}

Value DecodeLink(const Message& m) {
  const auto info = m.FamilyHeader<ifinfomsg>();
  auto t = m.TableAfter<ifinfomsg, IFLA_MAX>();
  Value v = Value::Object();
  v.Set("index", Value::Number(info.ifi_index));
  v.Set("name", Value::Str(t.Require(IFLA_IFNAME, "IFLA_IFNAME").Str()));
  v.Set("flags", Value::Number(info.ifi_flags));
  v.Set("up", Value::Bool((info.ifi_flags & IFF_UP) != 0));
  if (const Attr* a = t.Get(IFLA_MTU)) v.Set("mtu", Value::Number(a->U32()));
  if (const Attr* a = t.Get(IFLA_OPERSTATE)) v.Set("operState", Value::Number(a->U8()));
  if (const Attr* a = t.Get(IFLA_ADDRESS)) {
    std::string mac;
    char part[4];
    for (size_t i = 0; i < a->len; i++) {
      std::snprintf(part, sizeof part, i ? ":%02x" : "%02x", a->data[i]);
      mac += part;
    }
    v.Set("address", Value::Str(mac));
  }
  if (const Attr* linkinfo = t.Get(IFLA_LINKINFO)) {
    AttrTable<IFLA_INFO_MAX> li(*linkinfo);
    if (const Attr* kind = li.Get(IFLA_INFO_KIND)) v.Set("kind", Value::Str(kind->Str()));
  }
  return v;
}

Value DecodeAddress(const Message& m) {
  const auto info = m.FamilyHeader<ifaddrmsg>();
  auto t = m.TableAfter<ifaddrmsg, IFA_MAX>();
  Value v = Value::Object();
  v.Set("index", Value::Number(info.ifa_index));
  v.Set("family", Value::Number(info.ifa_family));
  v.Set("prefixLen", Value::Number(info.ifa_prefixlen));
  v.Set("scope", Value::Number(info.ifa_scope));
  const Attr* addr = t.Get(IFA_LOCAL) ? t.Get(IFA_LOCAL) : t.Get(IFA_ADDRESS);
  if (!addr) throw ParseError("address message without IFA_LOCAL/IFA_ADDRESS");
  const std::string text = FormatInetAddress(info.ifa_family, addr->data, addr->len);
  if (text.empty()) throw ParseError("address attribute of " + std::to_string(addr->len) + " bytes");
  v.Set("address", Value::Str(text));
  v.Set("flags", Value::Number(t.Get(IFA_FLAGS) ? t.Get(IFA_FLAGS)->U32() : info.ifa_flags));
  if (const Attr* label = t.Get(IFA_LABEL)) v.Set("label", Value::Str(label->Str()));
  return v;
}

std::vector<std::vector<uint8_t>> Dump(NetlinkSocket& sock, uint16_t type, uint8_t family) {
  MessageWriter w;
  auto msg = w.BeginMessage(type, NLM_F_REQUEST | NLM_F_DUMP, 1);
  if (type == RTM_GETLINK) {
    ifinfomsg hdr{};
    hdr.ifi_family = family;
    w.PutHeader(hdr);
  } else {
    ifaddrmsg hdr{};
    hdr.ifa_family = family;
    w.PutHeader(hdr);
  }
  w.EndMessage(msg);
  return DumpRaw(sock, w.Bytes(), 1, kReplyTimeoutMs);
}

// Interface index by name, from a dump of the links (works on every kernel, unlike a GETLINK by
// name on old ones, and the dump is one round trip either way).
std::map<std::string, int> LinkIndexes(NetlinkSocket& sock) {
  std::map<std::string, int> out;
  ForEachDumpMessage(Dump(sock, RTM_GETLINK, AF_UNSPEC), &sock, 1, [&](const Message& m) {
    if (m.hdr.nlmsg_type != RTM_NEWLINK) return;
    const auto info = m.FamilyHeader<ifinfomsg>();
    auto t = m.TableAfter<ifinfomsg, IFLA_MAX>();
    if (const Attr* name = t.Get(IFLA_IFNAME)) out[name->Str()] = info.ifi_index;
  });
  return out;
}

int IndexOf(const std::map<std::string, int>& indexes, const std::string& name) {
  auto it = indexes.find(name);
  if (it == indexes.end()) throw NetlinkFailure(ENODEV, "no such interface: " + name);
  return it->second;
}

struct LinkSpec {
  std::string name;
  std::string kind;
  std::string peer;
};

struct AddressOp {
  bool add = true;
  std::string link;
  InetAddress address;
  uint8_t prefix_len = 0;
  bool no_dad = false;
  bool replace = false;
};

// ---- JavaScript entry points ---------------------------------------------------------------------

Napi::Value LinkAddJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto spec_obj = ObjectArg(info, 0, "link");
  LinkSpec spec;
  try {
    spec.name = CheckedIfname(StringProp(spec_obj, "name"));
    spec.kind = StringProp(spec_obj, "kind");
    if (auto peer = OptStringProp(spec_obj, "peer")) spec.peer = CheckedIfname(*peer);
  } catch (const InputError& e) {
    throw Napi::TypeError::New(env, e.what());
  }
  if (spec.kind == "veth" && spec.peer.empty()) throw Napi::TypeError::New(env, "a veth link needs a peer name");
  const std::string netns = NetnsArg(info.Length() > 1 ? info[1] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:rtnlLinkAdd", [spec, netns]() {
    NetlinkSocket sock(NETLINK_ROUTE, netns);
    MessageWriter w;
    auto msg = w.BeginMessage(RTM_NEWLINK, kAckFlags | NLM_F_CREATE | NLM_F_EXCL, 1);
    ifinfomsg hdr{};
    hdr.ifi_family = AF_UNSPEC;
    w.PutHeader(hdr);
    w.PutString(IFLA_IFNAME, spec.name);
    auto linkinfo = w.BeginNest(IFLA_LINKINFO);
    w.PutString(IFLA_INFO_KIND, spec.kind);
    if (spec.kind == "veth") {
      auto data = w.BeginNest(IFLA_INFO_DATA);
      auto peer = w.BeginNest(VETH_INFO_PEER);
      ifinfomsg peer_hdr{};
      peer_hdr.ifi_family = AF_UNSPEC;
      w.PutHeader(peer_hdr);
      w.PutString(IFLA_IFNAME, spec.peer);
      w.EndNest(peer);
      w.EndNest(data);
    }
    w.EndNest(linkinfo);
    w.EndMessage(msg);
    RequestAck(sock, w, 1, "create link " + spec.name);
    return Value::Null();
  });
}

Napi::Value LinkDeleteJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "link name expected");
  std::string name;
  try {
    name = CheckedIfname(info[0].As<Napi::String>().Utf8Value());
  } catch (const InputError& e) {
    throw Napi::TypeError::New(env, e.what());
  }
  const std::string netns = NetnsArg(info.Length() > 1 ? info[1] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:rtnlLinkDelete", [name, netns]() {
    NetlinkSocket sock(NETLINK_ROUTE, netns);
    MessageWriter w;
    auto msg = w.BeginMessage(RTM_DELLINK, kAckFlags, 1);
    ifinfomsg hdr{};
    w.PutHeader(hdr);
    w.PutString(IFLA_IFNAME, name);
    w.EndMessage(msg);
    RequestAck(sock, w, 1, "delete link " + name);
    return Value::Null();
  });
}

Napi::Value LinkSetUpJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBoolean()) {
    throw Napi::TypeError::New(env, "rtnlLinkSetUp(name, up, options)");
  }
  std::string name;
  try {
    name = CheckedIfname(info[0].As<Napi::String>().Utf8Value());
  } catch (const InputError& e) {
    throw Napi::TypeError::New(env, e.what());
  }
  const bool up = info[1].As<Napi::Boolean>().Value();
  const std::string netns = NetnsArg(info.Length() > 2 ? info[2] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:rtnlLinkSetUp", [name, up, netns]() {
    NetlinkSocket sock(NETLINK_ROUTE, netns);
    MessageWriter w;
    auto msg = w.BeginMessage(RTM_SETLINK, kAckFlags, 1);
    ifinfomsg hdr{};
    hdr.ifi_family = AF_UNSPEC;
    hdr.ifi_flags = up ? IFF_UP : 0;
    hdr.ifi_change = IFF_UP;
    w.PutHeader(hdr);
    w.PutString(IFLA_IFNAME, name);
    w.EndMessage(msg);
    RequestAck(sock, w, 1, std::string("set link ") + name + (up ? " up" : " down"));
    return Value::Null();
  });
}

Napi::Value LinkListJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string netns = NetnsArg(info.Length() > 0 ? info[0] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:rtnlLinkList", [netns]() {
    NetlinkSocket sock(NETLINK_ROUTE, netns);
    Value out = Value::Array();
    ForEachDumpMessage(Dump(sock, RTM_GETLINK, AF_UNSPEC), &sock, 1, [&](const Message& m) {
      if (m.hdr.nlmsg_type == RTM_NEWLINK) out.Push(DecodeLink(m));
    });
    return out;
  });
}

Napi::Value AddrApplyJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "address operations must be an array");
  auto arr = info[0].As<Napi::Array>();
  std::vector<AddressOp> ops;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(env, "address operation #" + std::to_string(i) + " must be an object");
    auto o = v.As<Napi::Object>();
    AddressOp op;
    try {
      const std::string kind = StringProp(o, "op");
      if (kind != "add" && kind != "delete") throw InputError("op must be 'add' or 'delete'");
      op.add = kind == "add";
      op.link = CheckedIfname(StringProp(o, "link"));
      op.address = ParseInetAddress(StringProp(o, "address"), "address");
      const uint32_t prefix = U32Prop(o, "prefixLen");
      if (prefix > op.address.len() * 8) throw InputError("prefixLen too large for the address");
      op.prefix_len = static_cast<uint8_t>(prefix);
      op.no_dad = OptBoolProp(o, "noDad", false);
      op.replace = OptBoolProp(o, "replace", false);
    } catch (const InputError& e) {
      throw Napi::TypeError::New(env, "address operation #" + std::to_string(i) + ": " + e.what());
    }
    ops.push_back(op);
  }
  const std::string netns = NetnsArg(info.Length() > 1 ? info[1] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:rtnlAddrApply", [ops, netns]() {
    NetlinkSocket sock(NETLINK_ROUTE, netns);
    const auto indexes = LinkIndexes(sock);
    MessageWriter w;
    std::vector<size_t> offsets;
    Value results = Value::Array();
    std::vector<int> unresolved(ops.size(), 0);
    constexpr uint32_t first_seq = 2;  // 1 was the link dump
    uint32_t seq = first_seq;
    std::vector<size_t> sent_index;
    for (size_t i = 0; i < ops.size(); i++) {
      const auto& op = ops[i];
      auto it = indexes.find(op.link);
      if (it == indexes.end()) {
        unresolved[i] = ENODEV;
        continue;
      }
      offsets.push_back(w.Size());
      sent_index.push_back(i);
      uint16_t flags = kAckFlags;
      if (op.add) flags |= NLM_F_CREATE | (op.replace ? NLM_F_REPLACE : NLM_F_EXCL);
      auto msg = w.BeginMessage(op.add ? RTM_NEWADDR : RTM_DELADDR, flags, seq++);
      ifaddrmsg hdr{};
      hdr.ifa_family = static_cast<uint8_t>(op.address.family);
      hdr.ifa_prefixlen = op.prefix_len;
      hdr.ifa_flags = op.no_dad ? IFA_F_NODAD : 0;
      hdr.ifa_scope = RT_SCOPE_UNIVERSE;
      hdr.ifa_index = static_cast<uint32_t>(it->second);
      w.PutHeader(hdr);
      w.PutAttr(IFA_LOCAL, op.address.bytes, op.address.len());
      w.PutAttr(IFA_ADDRESS, op.address.bytes, op.address.len());
      w.EndMessage(msg);
    }
    size_t calls = 0;
    auto acks = ExchangeManyWithAcks(sock, w.Bytes(), offsets, first_seq, kReplyTimeoutMs, &calls);
    std::vector<AckInfo> by_op(ops.size());
    for (size_t k = 0; k < sent_index.size(); k++) by_op[sent_index[k]] = acks[k];
    for (size_t i = 0; i < ops.size(); i++) {
      Value r = Value::Object();
      const int err = unresolved[i] ? unresolved[i] : by_op[i].error;
      r.Set("ok", Value::Bool(err == 0));
      if (err) {
        r.Set("errno", Value::Number(err));
        r.Set("code", Value::Str(ErrnoName(err)));
        r.Set("message", Value::Str(unresolved[i] ? "no such interface: " + ops[i].link : std::strerror(err)));
        if (!by_op[i].message.empty()) r.Set("extackMessage", Value::Str(by_op[i].message));
      }
      results.Push(std::move(r));
    }
    Value out = Value::Object();
    out.Set("results", std::move(results));
    out.Set("sendmsgCalls", Value::Number(static_cast<double>(calls)));
    return out;
  });
}

Napi::Value AddrListJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string link;
  uint8_t family = AF_UNSPEC;
  if (info.Length() > 0 && info[0].IsObject()) {
    auto f = info[0].As<Napi::Object>();
    if (auto l = OptStringProp(f, "link")) link = *l;
    if (auto fam = OptU32Prop(f, "family")) family = static_cast<uint8_t>(*fam);
  }
  const std::string netns = NetnsArg(info.Length() > 1 ? info[1] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:rtnlAddrList", [link, family, netns]() {
    NetlinkSocket sock(NETLINK_ROUTE, netns);
    int index = -1;
    if (!link.empty()) index = IndexOf(LinkIndexes(sock), link);
    Value out = Value::Array();
    ForEachDumpMessage(Dump(sock, RTM_GETADDR, family), &sock, 1, [&](const Message& m) {
      if (m.hdr.nlmsg_type != RTM_NEWADDR) return;
      const auto hdr = m.FamilyHeader<ifaddrmsg>();
      if (index >= 0 && static_cast<int>(hdr.ifa_index) != index) return;
      if (family != AF_UNSPEC && hdr.ifa_family != family) return;
      out.Push(DecodeAddress(m));
    });
    return out;
  });
}

}  // namespace

Value ParseRtnlReplies(const std::string& kind, const uint8_t* data, size_t len) {
  std::vector<std::vector<uint8_t>> datagrams{std::vector<uint8_t>(data, data + len)};
  Value out = Value::Array();
  ForEachDumpMessage(datagrams, nullptr, 0, [&](const Message& m) {
    if (kind == "links") {
      out.Push(DecodeLink(m));
    } else if (kind == "addresses") {
      out.Push(DecodeAddress(m));
    } else {
      throw InputError("unknown rtnetlink parser '" + kind + "'");
    }
  });
  return out;
}

void RegisterRtnetlink(Napi::Env env, Napi::Object exports) {
  exports.Set("rtnlLinkAdd", Napi::Function::New(env, LinkAddJs, "rtnlLinkAdd"));
  exports.Set("rtnlLinkDelete", Napi::Function::New(env, LinkDeleteJs, "rtnlLinkDelete"));
  exports.Set("rtnlLinkSetUp", Napi::Function::New(env, LinkSetUpJs, "rtnlLinkSetUp"));
  exports.Set("rtnlLinkList", Napi::Function::New(env, LinkListJs, "rtnlLinkList"));
  exports.Set("rtnlAddrApply", Napi::Function::New(env, AddrApplyJs, "rtnlAddrApply"));
  exports.Set("rtnlAddrList", Napi::Function::New(env, AddrListJs, "rtnlAddrList"));
}

}  // namespace kpt
