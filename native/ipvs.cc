// IPVS over generic netlink: virtual services and their destinations (real servers), timeouts.
//
// IPVS has no transactions: each command is executed and acknowledged on its own. We pack many
// commands into each sendmsg() to save system calls and report one result per operation.
#include "ipvs.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/genetlink.h>
#include <linux/ip_vs.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "async.h"
#include "genl.h"
#include "inet.h"
#include "wire.h"
#include "nl_message.h"
#include "nl_socket.h"

namespace kpt {

namespace {

struct Service {
  int family = AF_INET;
  uint16_t protocol = 0;
  InetAddress address;
  bool has_address = false;
  uint16_t port = 0;
  uint32_t fwmark = 0;
  std::string scheduler = "rr";
  std::string pe;
  uint32_t flags = 0;
  uint32_t timeout = 0;
  std::optional<uint32_t> netmask;  // prefix length
};

struct Destination {
  InetAddress address;
  uint16_t port = 0;
  uint32_t weight = 1;
  uint32_t fwd_method = IP_VS_CONN_F_MASQ;
  uint32_t upper_threshold = 0;
  uint32_t lower_threshold = 0;
};

enum class OpKind { AddService, EditService, DeleteService, AddDest, EditDest, DeleteDest, Flush, SetTimeouts };

struct Operation {
  OpKind kind;
  Service service;
  Destination dest;
  std::optional<uint32_t> tcp, tcp_fin, udp;
};

// ---- reading JavaScript arguments ------------------------------------------------------------------

Service ReadService(const Napi::Object& o) {
  Service s;
  if (auto fwmark = OptU32Prop(o, "fwmark")) s.fwmark = *fwmark;
  if (auto addr = OptStringProp(o, "address")) {
    s.address = ParseInetAddress(*addr, "service address");
    s.has_address = true;
    s.family = s.address.family;
  }
  if (auto family = OptU32Prop(o, "family")) {
    if (*family != AF_INET && *family != AF_INET6) throw InputError("service family must be 2 (IPv4) or 10 (IPv6)");
    if (s.has_address && static_cast<int>(*family) != s.family) throw InputError("service family does not match address");
    s.family = static_cast<int>(*family);
  }
  if (!s.fwmark) {
    if (!s.has_address) throw InputError("a service needs an address (or an fwmark)");
    s.protocol = static_cast<uint16_t>(U32Prop(o, "protocol"));
    const uint32_t port = U32Prop(o, "port");
    if (port > 65535) throw InputError("service port out of range");
    s.port = static_cast<uint16_t>(port);
  }
  if (auto sched = OptStringProp(o, "scheduler")) {
    if (sched->empty() || sched->size() >= IP_VS_SCHEDNAME_MAXLEN) throw InputError("invalid scheduler name");
    s.scheduler = *sched;
  }
  if (auto pe = OptStringProp(o, "pe")) s.pe = *pe;
  s.flags = OptU32Prop(o, "flags").value_or(0);
  s.timeout = OptU32Prop(o, "timeout").value_or(0);
  if (auto nm = OptU32Prop(o, "netmask")) {
    if (*nm > (s.family == AF_INET6 ? 128u : 32u)) throw InputError("netmask (prefix length) out of range");
    s.netmask = *nm;
  }
  return s;
}

Destination ReadDestination(const Napi::Object& o) {
  Destination d;
  d.address = ParseInetAddress(StringProp(o, "address"), "destination address");
  const uint32_t port = U32Prop(o, "port");
  if (port > 65535) throw InputError("destination port out of range");
  d.port = static_cast<uint16_t>(port);
  d.weight = OptU32Prop(o, "weight").value_or(1);
  d.fwd_method = OptU32Prop(o, "fwdMethod").value_or(IP_VS_CONN_F_MASQ);
  if (d.fwd_method > IP_VS_CONN_F_FWD_MASK) throw InputError("fwdMethod must be 0..7");
  d.upper_threshold = OptU32Prop(o, "upperThreshold").value_or(0);
  d.lower_threshold = OptU32Prop(o, "lowerThreshold").value_or(0);
  return d;
}

Operation ReadOperation(const Napi::Object& o) {
  Operation op{};
  const std::string kind = StringProp(o, "op");
  static const std::pair<const char*, OpKind> kinds[] = {
      {"addService", OpKind::AddService},         {"editService", OpKind::EditService},
      {"deleteService", OpKind::DeleteService},   {"addDestination", OpKind::AddDest},
      {"editDestination", OpKind::EditDest},      {"deleteDestination", OpKind::DeleteDest},
      {"flush", OpKind::Flush},                   {"setTimeouts", OpKind::SetTimeouts},
  };
  bool known = false;
  for (const auto& [name, k] : kinds) {
    if (kind == name) {
      op.kind = k;
      known = true;
    }
  }
  if (!known) throw InputError("unknown IPVS operation '" + kind + "'");
  if (op.kind == OpKind::Flush) return op;
  if (op.kind == OpKind::SetTimeouts) {
    Napi::Value t = o.Get("timeouts");
    if (!t.IsObject()) throw InputError("setTimeouts needs timeouts: { tcp?, tcpFin?, udp? }");
    auto to = t.As<Napi::Object>();
    op.tcp = OptU32Prop(to, "tcp");
    op.tcp_fin = OptU32Prop(to, "tcpFin");
    op.udp = OptU32Prop(to, "udp");
    return op;
  }
  Napi::Value svc = o.Get("service");
  if (!svc.IsObject()) throw InputError("service is required");
  op.service = ReadService(svc.As<Napi::Object>());
  if (op.kind == OpKind::AddDest || op.kind == OpKind::EditDest || op.kind == OpKind::DeleteDest) {
    Napi::Value dest = o.Get("destination");
    if (!dest.IsObject()) throw InputError("destination is required");
    op.dest = ReadDestination(dest.As<Napi::Object>());
  }
  return op;
}

// ---- encoding --------------------------------------------------------------------------------------

// `full` adds what NEW/SET_SERVICE require (scheduler, flags, timeout, netmask); lookups send only
// the key (family + protocol/address/port, or family + fwmark).
void PutService(MessageWriter& w, const Service& s, bool full) {
  auto nest = w.BeginNest(IPVS_CMD_ATTR_SERVICE);
  w.PutU16(IPVS_SVC_ATTR_AF, static_cast<uint16_t>(s.family));
  if (s.fwmark) {
    w.PutU32(IPVS_SVC_ATTR_FWMARK, s.fwmark);
  } else {
    w.PutU16(IPVS_SVC_ATTR_PROTOCOL, s.protocol);
    w.PutAttr(IPVS_SVC_ATTR_ADDR, s.address.bytes, s.address.len());
    w.PutBe16(IPVS_SVC_ATTR_PORT, s.port);  // network order, as the kernel reads it
  }
  if (full) {
    w.PutString(IPVS_SVC_ATTR_SCHED_NAME, s.scheduler);
    if (!s.pe.empty()) w.PutString(IPVS_SVC_ATTR_PE_NAME, s.pe);
    ip_vs_flags flags{s.flags, 0xffffffffu};
    w.PutAttr(IPVS_SVC_ATTR_FLAGS, &flags, sizeof flags);
    w.PutU32(IPVS_SVC_ATTR_TIMEOUT, s.timeout);
    // The kernel reads NETMASK as __be32: an IPv4 mask in network order, and for IPv6 the prefix
    // length as the raw u32.
    if (s.family == AF_INET6) {
      w.PutU32(IPVS_SVC_ATTR_NETMASK, s.netmask.value_or(128));
    } else {
      const uint32_t plen = s.netmask.value_or(32);
      w.PutBe32(IPVS_SVC_ATTR_NETMASK, plen == 0 ? 0 : 0xffffffffu << (32 - plen));
    }
  }
  w.EndNest(nest);
}

void PutDestination(MessageWriter& w, const Destination& d, bool full) {
  auto nest = w.BeginNest(IPVS_CMD_ATTR_DEST);
  w.PutAttr(IPVS_DEST_ATTR_ADDR, d.address.bytes, d.address.len());
  w.PutBe16(IPVS_DEST_ATTR_PORT, d.port);
  w.PutU16(IPVS_DEST_ATTR_ADDR_FAMILY, static_cast<uint16_t>(d.address.family));
  if (full) {
    w.PutU32(IPVS_DEST_ATTR_FWD_METHOD, d.fwd_method);
    w.PutU32(IPVS_DEST_ATTR_WEIGHT, d.weight);
    w.PutU32(IPVS_DEST_ATTR_U_THRESH, d.upper_threshold);
    w.PutU32(IPVS_DEST_ATTR_L_THRESH, d.lower_threshold);
  }
  w.EndNest(nest);
}

MessageWriter::MessageToken BeginCommand(MessageWriter& w, uint16_t family_id, uint8_t cmd, uint16_t flags,
                                         uint32_t seq) {
  auto msg = w.BeginMessage(family_id, flags, seq);
  genlmsghdr hdr{};
  hdr.cmd = cmd;
  hdr.version = IPVS_GENL_VERSION;
  w.PutHeader(hdr);
  return msg;
}

void EncodeOperation(MessageWriter& w, uint16_t family_id, const Operation& op, uint32_t seq) {
  constexpr uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
  switch (op.kind) {
    case OpKind::AddService:
    case OpKind::EditService: {
      auto msg = BeginCommand(w, family_id, op.kind == OpKind::AddService ? IPVS_CMD_NEW_SERVICE : IPVS_CMD_SET_SERVICE,
                              flags, seq);
      PutService(w, op.service, true);
      w.EndMessage(msg);
      return;
    }
    case OpKind::DeleteService: {
      auto msg = BeginCommand(w, family_id, IPVS_CMD_DEL_SERVICE, flags, seq);
      PutService(w, op.service, false);
      w.EndMessage(msg);
      return;
    }
    case OpKind::AddDest:
    case OpKind::EditDest:
    case OpKind::DeleteDest: {
      const uint8_t cmd = op.kind == OpKind::AddDest    ? IPVS_CMD_NEW_DEST
                          : op.kind == OpKind::EditDest ? IPVS_CMD_SET_DEST
                                                        : IPVS_CMD_DEL_DEST;
      auto msg = BeginCommand(w, family_id, cmd, flags, seq);
      PutService(w, op.service, false);
      PutDestination(w, op.dest, op.kind != OpKind::DeleteDest);
      w.EndMessage(msg);
      return;
    }
    case OpKind::Flush: {
      auto msg = BeginCommand(w, family_id, IPVS_CMD_FLUSH, flags, seq);
      w.EndMessage(msg);
      return;
    }
    case OpKind::SetTimeouts: {
      auto msg = BeginCommand(w, family_id, IPVS_CMD_SET_CONFIG, flags, seq);
      // 0 means "leave unchanged" to the kernel.
      w.PutU32(IPVS_CMD_ATTR_TIMEOUT_TCP, op.tcp.value_or(0));
      w.PutU32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, op.tcp_fin.value_or(0));
      w.PutU32(IPVS_CMD_ATTR_TIMEOUT_UDP, op.udp.value_or(0));
      w.EndMessage(msg);
      return;
    }
  }
}

// ---- decoding --------------------------------------------------------------------------------------

void DecodeStats(const Attr& nest, Value& out) {
  AttrTable<IPVS_STATS_ATTR_MAX> t(nest);
  Value s = Value::Object();
  const struct {
    int attr;
    const char* name;
  } fields[] = {{IPVS_STATS_ATTR_CONNS, "connections"}, {IPVS_STATS_ATTR_INPKTS, "packetsIn"},
                {IPVS_STATS_ATTR_OUTPKTS, "packetsOut"}, {IPVS_STATS_ATTR_INBYTES, "bytesIn"},
                {IPVS_STATS_ATTR_OUTBYTES, "bytesOut"}};
  for (const auto& f : fields) {
    if (const Attr* a = t.Get(f.attr)) s.Set(f.name, Value::Number(static_cast<double>(a->len >= 8 ? a->U64() : a->U32())));
  }
  out.Set("stats", std::move(s));
}

std::string AddressText(int family, const Attr& a) {
  const std::string text = FormatInetAddress(family, a.data, a.len);
  if (text.empty()) throw ParseError("IPVS address of " + std::to_string(a.len) + " bytes for family " + std::to_string(family));
  return text;
}

Value DecodeService(const Attr& nest) {
  AttrTable<IPVS_SVC_ATTR_MAX> t(nest);
  Value v = Value::Object();
  const int family = t.Require(IPVS_SVC_ATTR_AF, "IPVS_SVC_ATTR_AF").U16();
  v.Set("family", Value::Number(family));
  if (const Attr* fw = t.Get(IPVS_SVC_ATTR_FWMARK); fw && fw->U32() != 0) {
    v.Set("fwmark", Value::Number(fw->U32()));
  } else {
    v.Set("protocol", Value::Number(t.Require(IPVS_SVC_ATTR_PROTOCOL, "IPVS_SVC_ATTR_PROTOCOL").U16()));
    v.Set("address", Value::Str(AddressText(family, t.Require(IPVS_SVC_ATTR_ADDR, "IPVS_SVC_ATTR_ADDR"))));
    v.Set("port", Value::Number(t.Require(IPVS_SVC_ATTR_PORT, "IPVS_SVC_ATTR_PORT").Be16()));
  }
  if (const Attr* a = t.Get(IPVS_SVC_ATTR_SCHED_NAME)) v.Set("scheduler", Value::Str(a->Str()));
  if (const Attr* a = t.Get(IPVS_SVC_ATTR_PE_NAME)) v.Set("pe", Value::Str(a->Str()));
  if (const Attr* a = t.Get(IPVS_SVC_ATTR_FLAGS)) {
    if (a->len < sizeof(ip_vs_flags)) throw ParseError("IPVS_SVC_ATTR_FLAGS too short");
    ip_vs_flags flags;
    std::memcpy(&flags, a->data, sizeof flags);
    v.Set("flags", Value::Number(flags.flags));
  }
  if (const Attr* a = t.Get(IPVS_SVC_ATTR_TIMEOUT)) v.Set("timeout", Value::Number(a->U32()));
  if (const Attr* a = t.Get(IPVS_SVC_ATTR_NETMASK)) {
    const uint32_t raw = a->U32();
    v.Set("netmask", Value::Number(family == AF_INET6 ? raw : __builtin_popcount(raw)));
  }
  if (const Attr* a = t.Get(IPVS_SVC_ATTR_STATS64)) {
    DecodeStats(*a, v);
  } else if (const Attr* b = t.Get(IPVS_SVC_ATTR_STATS)) {
    DecodeStats(*b, v);
  }
  return v;
}

Value DecodeDestination(const Attr& nest, int service_family) {
  AttrTable<IPVS_DEST_ATTR_MAX> t(nest);
  Value v = Value::Object();
  int family = service_family;
  if (const Attr* a = t.Get(IPVS_DEST_ATTR_ADDR_FAMILY)) family = a->U16();
  v.Set("family", Value::Number(family));
  v.Set("address", Value::Str(AddressText(family, t.Require(IPVS_DEST_ATTR_ADDR, "IPVS_DEST_ATTR_ADDR"))));
  v.Set("port", Value::Number(t.Require(IPVS_DEST_ATTR_PORT, "IPVS_DEST_ATTR_PORT").Be16()));
  const struct {
    int attr;
    const char* name;
  } fields[] = {{IPVS_DEST_ATTR_FWD_METHOD, "fwdMethod"},     {IPVS_DEST_ATTR_WEIGHT, "weight"},
                {IPVS_DEST_ATTR_U_THRESH, "upperThreshold"},  {IPVS_DEST_ATTR_L_THRESH, "lowerThreshold"},
                {IPVS_DEST_ATTR_ACTIVE_CONNS, "activeConnections"}, {IPVS_DEST_ATTR_INACT_CONNS, "inactiveConnections"},
                {IPVS_DEST_ATTR_PERSIST_CONNS, "persistentConnections"}};
  for (const auto& f : fields) {
    if (const Attr* a = t.Get(f.attr)) v.Set(f.name, Value::Number(a->U32()));
  }
  if (const Attr* a = t.Get(IPVS_DEST_ATTR_STATS64)) {
    DecodeStats(*a, v);
  } else if (const Attr* b = t.Get(IPVS_DEST_ATTR_STATS)) {
    DecodeStats(*b, v);
  }
  return v;
}

// ---- exchanges -------------------------------------------------------------------------------------

struct IpvsSession {
  NetlinkSocket sock;
  uint16_t family_id = 0;
  uint32_t version = 0;
  uint32_t next_seq = 2;

  explicit IpvsSession(const std::string& netns) : sock(NETLINK_GENERIC, netns) {
    auto family = ResolveGenlFamily(sock, IPVS_GENL_NAME, 1);
    if (!family) throw NetlinkFailure(ENOENT, "IPVS is not available in this kernel (generic netlink family IPVS is absent)");
    family_id = family->id;
    version = family->version;
  }
};

// A single non-dump request answered by one reply message and an ack.
std::vector<uint8_t> RequestReply(IpvsSession& s, uint8_t cmd, uint8_t* reply_cmd) {
  const uint32_t seq = s.next_seq++;
  MessageWriter w;
  auto msg = BeginCommand(w, s.family_id, cmd, NLM_F_REQUEST | NLM_F_ACK, seq);
  w.EndMessage(msg);
  s.sock.Send(w.Bytes());
  std::vector<uint8_t> reply;
  std::vector<uint8_t> buf;
  for (;;) {
    if (!s.sock.Receive(buf, kReplyTimeoutMs)) throw NetlinkFailure(ETIMEDOUT, "no reply from IPVS");
    MessageReader reader(buf.data(), buf.size());
    Message m;
    while (reader.Next(m)) {
      s.sock.CheckReply(m, seq, seq);
      if (m.hdr.nlmsg_type == NLMSG_ERROR) {
        AckInfo ack = ParseAck(m);
        if (ack.error) throw NetlinkFailure(ack.error, std::string("IPVS request failed: ") + std::strerror(ack.error));
        if (reply.empty()) throw ParseError("IPVS acknowledged without a reply");
        return reply;
      }
      if (m.hdr.nlmsg_type != s.family_id) continue;
      const auto g = m.FamilyHeader<genlmsghdr>();
      *reply_cmd = g.cmd;
      reply.assign(m.payload - NLMSG_HDRLEN, m.payload + m.payload_len);
    }
  }
}

std::vector<std::vector<uint8_t>> DumpCommand(IpvsSession& s, uint8_t cmd, const Service* service) {
  const uint32_t seq = s.next_seq++;
  MessageWriter w;
  auto msg = BeginCommand(w, s.family_id, cmd, NLM_F_REQUEST | NLM_F_DUMP, seq);
  if (service) PutService(w, *service, false);
  w.EndMessage(msg);
  auto datagrams = DumpRaw(s.sock, w.Bytes(), seq, kReplyTimeoutMs);
  // DumpRaw checked port ids and the seq; keep it for ForEachDumpMessage's check too.
  return datagrams;
}

Value DecodeServiceDump(const std::vector<std::vector<uint8_t>>& datagrams, const NetlinkSocket* sock, uint32_t seq) {
  Value out = Value::Array();
  ForEachDumpMessage(datagrams, sock, seq, [&](const Message& m) {
    auto t = m.TableAfter<genlmsghdr, IPVS_CMD_ATTR_MAX>();
    out.Push(DecodeService(t.Require(IPVS_CMD_ATTR_SERVICE, "IPVS_CMD_ATTR_SERVICE")));
  });
  return out;
}

Value DecodeDestinationDump(const std::vector<std::vector<uint8_t>>& datagrams, const NetlinkSocket* sock,
                            uint32_t seq, int service_family) {
  Value out = Value::Array();
  ForEachDumpMessage(datagrams, sock, seq, [&](const Message& m) {
    auto t = m.TableAfter<genlmsghdr, IPVS_CMD_ATTR_MAX>();
    out.Push(DecodeDestination(t.Require(IPVS_CMD_ATTR_DEST, "IPVS_CMD_ATTR_DEST"), service_family));
  });
  return out;
}

Value DecodeConfig(const uint8_t* data, size_t len) {
  std::vector<std::vector<uint8_t>> datagrams{std::vector<uint8_t>(data, data + len)};
  Value v = Value::Object();
  ForEachDumpMessage(datagrams, nullptr, 0, [&](const Message& m) {
    auto t = m.TableAfter<genlmsghdr, IPVS_CMD_ATTR_MAX>();
    if (const Attr* a = t.Get(IPVS_CMD_ATTR_TIMEOUT_TCP)) v.Set("tcp", Value::Number(a->U32()));
    if (const Attr* a = t.Get(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN)) v.Set("tcpFin", Value::Number(a->U32()));
    if (const Attr* a = t.Get(IPVS_CMD_ATTR_TIMEOUT_UDP)) v.Set("udp", Value::Number(a->U32()));
  });
  return v;
}

// ---- JavaScript entry points ---------------------------------------------------------------------

Napi::Value ProbeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string netns = NetnsArg(info.Length() > 0 ? info[0] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:ipvsProbe", [netns]() {
    NetlinkSocket sock(NETLINK_GENERIC, netns);
    auto family = ResolveGenlFamily(sock, IPVS_GENL_NAME, 1);
    Value v = Value::Object();
    v.Set("available", Value::Bool(family.has_value()));
    if (family) {
      v.Set("familyId", Value::Number(family->id));
      v.Set("genlVersion", Value::Number(family->version));
    }
    return v;
  });
}

Napi::Value ApplyJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "IPVS operations must be an array");
  auto arr = info[0].As<Napi::Array>();
  std::vector<Operation> ops;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    try {
      if (!v.IsObject()) throw InputError("must be an object");
      ops.push_back(ReadOperation(v.As<Napi::Object>()));
    } catch (const InputError& e) {
      throw Napi::TypeError::New(env, "IPVS operation #" + std::to_string(i) + ": " + e.what());
    }
  }
  const std::string netns = NetnsArg(info.Length() > 1 ? info[1] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:ipvsApply", [ops, netns]() {
    IpvsSession s(netns);
    MessageWriter w;
    std::vector<size_t> offsets;
    const uint32_t first_seq = s.next_seq;
    for (const auto& op : ops) {
      offsets.push_back(w.Size());
      EncodeOperation(w, s.family_id, op, s.next_seq++);
    }
    size_t calls = 0;
    auto acks = ExchangeManyWithAcks(s.sock, w.Bytes(), offsets, first_seq, kReplyTimeoutMs, &calls);
    Value results = Value::Array();
    for (const auto& ack : acks) {
      Value r = Value::Object();
      r.Set("ok", Value::Bool(ack.error == 0));
      if (ack.error) {
        r.Set("errno", Value::Number(ack.error));
        r.Set("code", Value::Str(ErrnoName(ack.error)));
        r.Set("message", Value::Str(std::strerror(ack.error)));
        if (!ack.message.empty()) r.Set("extackMessage", Value::Str(ack.message));
      }
      results.Push(std::move(r));
    }
    Value out = Value::Object();
    out.Set("results", std::move(results));
    out.Set("sendmsgCalls", Value::Number(static_cast<double>(calls)));
    return out;
  });
}

Napi::Value ListServicesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string netns = NetnsArg(info.Length() > 0 ? info[0] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:ipvsListServices", [netns]() {
    IpvsSession s(netns);
    const uint32_t seq = s.next_seq;
    auto datagrams = DumpCommand(s, IPVS_CMD_GET_SERVICE, nullptr);
    return DecodeServiceDump(datagrams, &s.sock, seq);
  });
}

Napi::Value ListDestinationsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto obj = ObjectArg(info, 0, "service");
  Service service;
  try {
    service = ReadService(obj);
  } catch (const InputError& e) {
    throw Napi::TypeError::New(env, e.what());
  }
  const std::string netns = NetnsArg(info.Length() > 1 ? info[1] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:ipvsListDestinations", [service, netns]() {
    IpvsSession s(netns);
    const uint32_t seq = s.next_seq;
    auto datagrams = DumpCommand(s, IPVS_CMD_GET_DEST, &service);
    return DecodeDestinationDump(datagrams, &s.sock, seq, service.family);
  });
}

Napi::Value GetTimeoutsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string netns = NetnsArg(info.Length() > 0 ? info[0] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:ipvsGetTimeouts", [netns]() {
    IpvsSession s(netns);
    uint8_t cmd = 0;
    auto reply = RequestReply(s, IPVS_CMD_GET_CONFIG, &cmd);
    return DecodeConfig(reply.data(), reply.size());
  });
}

}  // namespace

Value ParseIpvsReplies(const std::string& kind, const uint8_t* data, size_t len) {
  std::vector<std::vector<uint8_t>> datagrams{std::vector<uint8_t>(data, data + len)};
  if (kind == "services") return DecodeServiceDump(datagrams, nullptr, 0);
  if (kind == "destinations") return DecodeDestinationDump(datagrams, nullptr, 0, AF_INET);
  if (kind == "config") return DecodeConfig(data, len);
  throw InputError("unknown IPVS parser '" + kind + "'");
}

// Encodes operations with a fixed family id, for the test that round-trips requests through the
// reply parsers (the request attributes are a subset of what the kernel sends back).
Napi::Value TestEncodeIpvsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "operations expected");
  auto arr = info[0].As<Napi::Array>();
  MessageWriter w;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    try {
      EncodeOperation(w, 0x42, ReadOperation(arr.Get(i).As<Napi::Object>()), i + 1);
    } catch (const InputError& e) {
      throw Napi::TypeError::New(env, e.what());
    }
  }
  auto out = Napi::Uint8Array::New(env, w.Size());
  std::memcpy(out.Data(), w.Data(), w.Size());
  return out;
}

void RegisterIpvs(Napi::Env env, Napi::Object exports) {
  exports.Set("ipvsProbe", Napi::Function::New(env, ProbeJs, "ipvsProbe"));
  exports.Set("ipvsApply", Napi::Function::New(env, ApplyJs, "ipvsApply"));
  exports.Set("ipvsListServices", Napi::Function::New(env, ListServicesJs, "ipvsListServices"));
  exports.Set("ipvsListDestinations", Napi::Function::New(env, ListDestinationsJs, "ipvsListDestinations"));
  exports.Set("ipvsGetTimeouts", Napi::Function::New(env, GetTimeoutsJs, "ipvsGetTimeouts"));
  exports.Set("testEncodeIpvs", Napi::Function::New(env, TestEncodeIpvsJs, "testEncodeIpvs"));
}

}  // namespace kpt
