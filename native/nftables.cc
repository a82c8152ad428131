// nf_tables over nfnetlink: one batch (BATCH_BEGIN ... BATCH_END) per transaction, and dumps for
// reading tables, chains, sets, elements and rules back.
//
// The operations arrive already compiled by src/kernel/nftables-compile.ts (low-level objects:
// numeric families, registers, binary keys). Encoding walks those objects on the JavaScript
// thread (N-API is only usable there) straight into the batch buffer, so no intermediate copy
// exists; the resulting batch is immutable and can be sent any number of times from a worker.
#include "nftables.h"

// glibc's networking headers must come before the kernel's uapi ones (libc-compat.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "async.h"
#include "wire.h"
#include "nftables_expr.h"
#include "nl_message.h"
#include "nl_socket.h"

namespace kpt {

namespace {

constexpr uint16_t NftType(uint16_t msg) { return static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg); }

// Messages are packed into chunks of about this size; each chunk is one iovec of the single
// sendmsg (the kernel needs the whole batch in one datagram to treat it as one transaction).
constexpr size_t kChunkBytes = 2u << 20;
// Room left in an NFTA_SET_ELEM_LIST_ELEMENTS nest before a new NEWSETELEM message is started
// (nla_len is 16 bits).
constexpr size_t kElementsNestLimit = UINT16_MAX;
// nft sizes the receive buffer to 1 KiB per message so that every possible error fits.
constexpr size_t kReceiveBytesPerMessage = 1024;
constexpr size_t kMaxReceiveBuffer = 256u << 20;
constexpr size_t kMaxIovecs = 1024;  // UIO_MAXIOV

constexpr uint32_t kFirstSeq = 1;

struct NftBatch {
  std::vector<std::vector<uint8_t>> chunks;
  // Operation index of every message, indexed by seq - kFirstSeq; -1 for BATCH_BEGIN/END.
  std::vector<int64_t> op_of_seq;
  uint32_t last_seq = 0;
  size_t bytes = 0;
  size_t operations = 0;
};

class BatchEncoder {
 public:
  BatchEncoder() {
    w_.Reserve(64 * 1024);
    Control(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, -1);
  }

  MessageWriter::MessageToken Begin(uint16_t msg_type, uint16_t flags, uint8_t family, int64_t op_index) {
    if (w_.Size() >= kChunkBytes) {
      batch_->bytes += w_.Size();
      batch_->chunks.push_back(std::move(w_.Bytes()));
      w_ = MessageWriter();
      w_.Reserve(kChunkBytes + 128 * 1024);
    }
    auto token = w_.BeginMessage(NftType(msg_type), flags, next_seq_++);
    batch_->op_of_seq.push_back(op_index);
    nfgenmsg hdr{};
    hdr.nfgen_family = family;
    hdr.version = NFNETLINK_V0;
    hdr.res_id = 0;
    w_.PutHeader(hdr);
    return token;
  }
  void End(MessageWriter::MessageToken token) { w_.EndMessage(token); }
  MessageWriter& w() { return w_; }

  std::shared_ptr<NftBatch> Finish(size_t operations) {
    // The kernel acks BATCH_END only when the batch committed (kernel >= 6.10); older kernels
    // ignore the flag. It is a confirmation, never the only success signal.
    Control(NFNL_MSG_BATCH_END, NLM_F_REQUEST | NLM_F_ACK, -1);
    batch_->bytes += w_.Size();
    batch_->chunks.push_back(std::move(w_.Bytes()));
    batch_->last_seq = next_seq_ - 1;
    batch_->operations = operations;
    return batch_;
  }

 private:
  void Control(uint16_t type, uint16_t flags, int64_t op_index) {
    auto token = w_.BeginMessage(type, flags, next_seq_++);
    batch_->op_of_seq.push_back(op_index);
    nfgenmsg hdr{};
    hdr.nfgen_family = AF_UNSPEC;
    hdr.version = NFNETLINK_V0;
    hdr.res_id = htons(NFNL_SUBSYS_NFTABLES);
    w_.PutHeader(hdr);
    w_.EndMessage(token);
  }

  std::shared_ptr<NftBatch> batch_ = std::make_shared<NftBatch>();
  MessageWriter w_;
  uint32_t next_seq_ = kFirstSeq;
};

uint8_t FamilyOf(const WireRecord& op) {
  const uint32_t family = op.U32(Field::family);
  if (family > 255) throw InputError("family must fit in 8 bits");
  return static_cast<uint8_t>(family);
}

uint16_t CreateFlags(const WireRecord& op) { return op.OptBool(Field::create) ? NLM_F_EXCL : 0; }

void PutUserdata(const WireRecord& op, MessageWriter& w, uint16_t attr) {
  if (auto ud = op.OptBytes(Field::userdata)) w.PutAttr(attr, ud->first, ud->second);
}

void EncodeTable(BatchEncoder& enc, const WireRecord& op, int64_t index, bool del) {
  auto& w = enc.w();
  auto msg = enc.Begin(del ? NFT_MSG_DELTABLE : NFT_MSG_NEWTABLE, NLM_F_REQUEST | (del ? 0 : CreateFlags(op)),
                       FamilyOf(op), index);
  // "flush ruleset" is a DELTABLE without a name (and usually AF_UNSPEC): every table goes.
  if (auto name = op.OptStr(Field::name)) {
    w.PutString(NFTA_TABLE_NAME, *name);
  } else if (!del) {
    throw InputError("name is required");
  }
  if (!del) {
    w.PutBe32(NFTA_TABLE_FLAGS, op.OptU32(Field::flags).value_or(0));
    PutUserdata(op, w, NFTA_TABLE_USERDATA);
  }
  enc.End(msg);
}

void EncodeChain(BatchEncoder& enc, const WireRecord& op, int64_t index, bool del) {
  auto& w = enc.w();
  auto msg = enc.Begin(del ? NFT_MSG_DELCHAIN : NFT_MSG_NEWCHAIN,
                       NLM_F_REQUEST | (del ? 0 : NLM_F_CREATE | CreateFlags(op)), FamilyOf(op), index);
  w.PutString(NFTA_CHAIN_TABLE, op.Str(Field::table));
  w.PutString(NFTA_CHAIN_NAME, op.Str(Field::name));
  if (!del) {
    if (auto hook = op.OptRecord(Field::hook)) {
      auto nest = w.BeginNest(NFTA_CHAIN_HOOK);
      w.PutBe32(NFTA_HOOK_HOOKNUM, hook->U32(Field::hooknum));
      w.PutBe32(NFTA_HOOK_PRIORITY, static_cast<uint32_t>(hook->I32(Field::priority)));
      w.EndNest(nest);
    }
    if (auto policy = op.OptU32(Field::policy)) w.PutBe32(NFTA_CHAIN_POLICY, *policy);
    if (auto type = op.OptStr(Field::type)) w.PutString(NFTA_CHAIN_TYPE, *type);
    PutUserdata(op, w, NFTA_CHAIN_USERDATA);
  }
  enc.End(msg);
}

// flushtable / flushchain / delrule all are NFT_MSG_DELRULE with a narrower or wider selector.
void EncodeDelRule(BatchEncoder& enc, const WireRecord& op, int64_t index) {
  auto& w = enc.w();
  auto msg = enc.Begin(NFT_MSG_DELRULE, NLM_F_REQUEST, FamilyOf(op), index);
  w.PutString(NFTA_RULE_TABLE, op.Str(Field::table));
  if (auto chain = op.OptStr(Field::chain)) w.PutString(NFTA_RULE_CHAIN, *chain);
  if (auto handle = op.OptU64(Field::handle)) w.PutBe64(NFTA_RULE_HANDLE, *handle);
  enc.End(msg);
}

void EncodeRule(BatchEncoder& enc, const WireRecord& op, int64_t index) {
  auto& w = enc.w();
  auto msg = enc.Begin(NFT_MSG_NEWRULE, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND, FamilyOf(op), index);
  w.PutString(NFTA_RULE_TABLE, op.Str(Field::table));
  w.PutString(NFTA_RULE_CHAIN, op.Str(Field::chain));
  if (auto position = op.OptU64(Field::position)) w.PutBe64(NFTA_RULE_POSITION, *position);
  WireArray exprs = op.Array(Field::exprs);
  auto nest = w.BeginNest(NFTA_RULE_EXPRESSIONS);
  WireValue v;
  for (uint32_t i = 0; exprs.Next(v); i++) {
    try {
      EncodeNftExpr(WireRecord(v), w);
    } catch (const InputError& e) {
      throw InputError("expression #" + std::to_string(i) + ": " + e.what());
    }
  }
  w.EndNest(nest);
  PutUserdata(op, w, NFTA_RULE_USERDATA);
  enc.End(msg);
}

void EncodeSet(BatchEncoder& enc, const WireRecord& op, int64_t index) {
  auto& w = enc.w();
  auto msg = enc.Begin(NFT_MSG_NEWSET, NLM_F_REQUEST | NLM_F_CREATE | CreateFlags(op), FamilyOf(op), index);
  w.PutString(NFTA_SET_TABLE, op.Str(Field::table));
  w.PutString(NFTA_SET_NAME, op.Str(Field::name));
  w.PutBe32(NFTA_SET_FLAGS, op.OptU32(Field::flags).value_or(0));
  w.PutBe32(NFTA_SET_KEY_TYPE, op.U32(Field::keyType));
  w.PutBe32(NFTA_SET_KEY_LEN, op.U32(Field::keyLen));
  if (auto data_type = op.OptU32(Field::dataType)) {
    w.PutBe32(NFTA_SET_DATA_TYPE, *data_type);
    w.PutBe32(NFTA_SET_DATA_LEN, op.U32(Field::dataLen));
  }
  if (auto policy = op.OptU32(Field::policy)) w.PutBe32(NFTA_SET_POLICY, *policy);
  auto size = op.OptU32(Field::size);
  auto field_lens = op.OptArray(Field::fieldLens);
  if (size || field_lens) {
    auto desc = w.BeginNest(NFTA_SET_DESC);
    if (size) w.PutBe32(NFTA_SET_DESC_SIZE, *size);
    if (field_lens) {
      auto concat = w.BeginNest(NFTA_SET_DESC_CONCAT);
      WireValue v;
      while (field_lens->Next(v)) {
        auto elem = w.BeginNest(NFTA_LIST_ELEM);
        w.PutBe32(NFTA_SET_FIELD_LEN, WireRecord::ValueU32(v, Field::fieldLens));
        w.EndNest(elem);
      }
      w.EndNest(concat);
    }
    w.EndNest(desc);
  }
  w.PutBe32(NFTA_SET_ID, op.U32(Field::id));
  if (auto timeout = op.OptU64(Field::timeoutMs)) w.PutBe64(NFTA_SET_TIMEOUT, *timeout);
  if (auto gc = op.OptU32(Field::gcIntervalMs)) w.PutBe32(NFTA_SET_GC_INTERVAL, *gc);
  PutUserdata(op, w, NFTA_SET_USERDATA);
  enc.End(msg);
}

void EncodeDelSet(BatchEncoder& enc, const WireRecord& op, int64_t index) {
  auto& w = enc.w();
  auto msg = enc.Begin(NFT_MSG_DELSET, NLM_F_REQUEST, FamilyOf(op), index);
  w.PutString(NFTA_SET_TABLE, op.Str(Field::table));
  w.PutString(NFTA_SET_NAME, op.Str(Field::name));
  enc.End(msg);
}

void EncodeFlushSet(BatchEncoder& enc, const WireRecord& op, int64_t index) {
  auto& w = enc.w();
  auto msg = enc.Begin(NFT_MSG_DELSETELEM, NLM_F_REQUEST, FamilyOf(op), index);
  w.PutString(NFTA_SET_ELEM_LIST_TABLE, op.Str(Field::table));
  w.PutString(NFTA_SET_ELEM_LIST_SET, op.Str(Field::name));
  enc.End(msg);
}

void EncodeElement(const WireRecord& elem, MessageWriter& w) {
  auto nest = w.BeginNest(NFTA_LIST_ELEM);
  auto key = elem.Bytes(Field::key);
  PutNftDataValue(w, NFTA_SET_ELEM_KEY, key.first, key.second);
  if (auto key_end = elem.OptBytes(Field::keyEnd)) {
    PutNftDataValue(w, NFTA_SET_ELEM_KEY_END, key_end->first, key_end->second);
  }
  if (auto data = elem.OptBytes(Field::data)) PutNftDataValue(w, NFTA_SET_ELEM_DATA, data->first, data->second);
  if (auto verdict = elem.OptRecord(Field::verdict)) {
    auto chain = verdict->OptStr(Field::chain);
    PutNftVerdict(w, NFTA_SET_ELEM_DATA, verdict->I32(Field::code), chain ? &*chain : nullptr);
  }
  if (auto flags = elem.OptU32(Field::flags)) w.PutBe32(NFTA_SET_ELEM_FLAGS, *flags);
  if (auto timeout = elem.OptU64(Field::timeoutMs)) w.PutBe64(NFTA_SET_ELEM_TIMEOUT, *timeout);
  PutUserdata(elem, w, NFTA_SET_ELEM_USERDATA);
  w.EndNest(nest);
}

// Elements go into as many NEWSETELEM/DELSETELEM messages as the 16-bit nest length requires.
void EncodeSetElems(BatchEncoder& enc, const WireRecord& op, int64_t index, bool del) {
  const uint8_t family = FamilyOf(op);
  const std::string table = op.Str(Field::table);
  const std::string set = op.Str(Field::set);
  const auto set_id = op.OptU32(Field::setId);
  const uint16_t flags = NLM_F_REQUEST | (del ? 0 : NLM_F_CREATE | CreateFlags(op));
  WireArray elements = op.Array(Field::elements);

  MessageWriter::MessageToken msg{};
  MessageWriter::NestToken nest{};
  uint32_t in_message = 0;
  auto open = [&]() {
    msg = enc.Begin(del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM, flags, family, index);
    enc.w().PutString(NFTA_SET_ELEM_LIST_TABLE, table);
    enc.w().PutString(NFTA_SET_ELEM_LIST_SET, set);
    if (set_id) enc.w().PutBe32(NFTA_SET_ELEM_LIST_SET_ID, *set_id);
    nest = enc.w().BeginNest(NFTA_SET_ELEM_LIST_ELEMENTS);
    in_message = 0;
  };
  auto close = [&]() {
    enc.w().EndNest(nest);
    enc.End(msg);
  };

  open();
  WireValue v;
  for (uint32_t i = 0; elements.Next(v); i++) {
    const size_t before = enc.w().Size();
    try {
      const WireRecord elem(v);
      EncodeElement(elem, enc.w());
      if (enc.w().OpenNestSize(nest) > kElementsNestLimit) {
        if (in_message == 0) throw InputError("does not fit in one message");
        enc.w().Truncate(before);
        close();
        open();
        EncodeElement(elem, enc.w());
      }
    } catch (const EncodeError&) {
      throw InputError("element #" + std::to_string(i) + " is larger than a netlink attribute can hold");
    } catch (const InputError& e) {
      throw InputError("element #" + std::to_string(i) + ": " + e.what());
    }
    in_message++;
  }
  close();
}

std::shared_ptr<NftBatch> EncodeBatch(const uint8_t* data, size_t len) {
  BatchEncoder enc;
  WireArray ops = WireOperations(data, len);
  WireValue v;
  uint32_t i = 0;
  for (; ops.Next(v); i++) {
    try {
      const WireRecord op(v);
      const std::string tag = op.Str(Field::op);
      if (tag == "newrule") {
        EncodeRule(enc, op, i);
      } else if (tag == "newsetelem") {
        EncodeSetElems(enc, op, i, false);
      } else if (tag == "newchain") {
        EncodeChain(enc, op, i, false);
      } else if (tag == "newtable") {
        EncodeTable(enc, op, i, false);
      } else if (tag == "deltable") {
        EncodeTable(enc, op, i, true);
      } else if (tag == "flushtable" || tag == "flushchain" || tag == "delrule") {
        EncodeDelRule(enc, op, i);
      } else if (tag == "delchain") {
        EncodeChain(enc, op, i, true);
      } else if (tag == "newset") {
        EncodeSet(enc, op, i);
      } else if (tag == "delset") {
        EncodeDelSet(enc, op, i);
      } else if (tag == "flushset") {
        EncodeFlushSet(enc, op, i);
      } else if (tag == "delsetelem") {
        EncodeSetElems(enc, op, i, true);
      } else {
        throw InputError("unknown operation '" + tag + "'");
      }
    } catch (const InputError& e) {
      throw InputError("nf_tables operation #" + std::to_string(i) + ": " + e.what());
    } catch (const EncodeError& e) {
      throw InputError("nf_tables operation #" + std::to_string(i) + ": " + e.what());
    }
  }
  return enc.Finish(i);
}

// Finds the message with sequence number `seq` in the batch.
bool FindMessage(const NftBatch& batch, uint32_t seq, const uint8_t** data, size_t* len) {
  for (const auto& chunk : batch.chunks) {
    MessageReader reader(chunk.data(), chunk.size());
    Message msg;
    while (reader.Next(msg)) {
      if (msg.hdr.nlmsg_seq == seq) {
        *data = msg.payload - NLMSG_HDRLEN;
        *len = msg.hdr.nlmsg_len;
        return true;
      }
    }
  }
  return false;
}

// Names of the top-level attributes of each message type, for error messages.
std::string AttributeName(uint16_t msg_type, uint16_t attr) {
  static const char* const table_attrs[] = {nullptr, "name", "flags", "use", "handle", nullptr, "userdata"};
  static const char* const chain_attrs[] = {nullptr, "table", "handle", "name", "hook", "policy", "use", "type"};
  static const char* const rule_attrs[] = {nullptr, "table", "chain", "handle", "expressions", nullptr, "position",
                                           "userdata"};
  static const char* const set_attrs[] = {nullptr,  "table", "name", "flags", "key type", "key length", "data type",
                                          "data length", "policy", "description", "id", "timeout", "gc interval",
                                          "userdata"};
  static const char* const elem_attrs[] = {nullptr, "table", "set", "elements", "set id"};
  auto pick = [&](const char* const* names, size_t n) -> std::string {
    return attr < n && names[attr] ? names[attr] : "attribute type " + std::to_string(attr);
  };
  switch (msg_type) {
    case NFT_MSG_NEWTABLE:
    case NFT_MSG_DELTABLE:
      return pick(table_attrs, std::size(table_attrs));
    case NFT_MSG_NEWCHAIN:
    case NFT_MSG_DELCHAIN:
      return pick(chain_attrs, std::size(chain_attrs));
    case NFT_MSG_NEWRULE:
    case NFT_MSG_DELRULE:
      return pick(rule_attrs, std::size(rule_attrs));
    case NFT_MSG_NEWSET:
    case NFT_MSG_DELSET:
      return pick(set_attrs, std::size(set_attrs));
    case NFT_MSG_NEWSETELEM:
    case NFT_MSG_DELSETELEM:
      return pick(elem_attrs, std::size(elem_attrs));
    default:
      return "attribute type " + std::to_string(attr);
  }
}

// Turns the kernel's extended-ack offset into words: which expression of a rule, or which
// attribute of the message, the kernel objected to.
std::string DescribeOffset(const NftBatch& batch, uint32_t seq, int64_t offset) {
  const uint8_t* data;
  size_t len;
  if (offset < 0 || !FindMessage(batch, seq, &data, &len)) return "";
  const size_t attrs_at = NLMSG_HDRLEN + Align4(sizeof(nfgenmsg));
  if (static_cast<size_t>(offset) < attrs_at || static_cast<size_t>(offset) >= len) return "";
  nlmsghdr hdr;
  std::memcpy(&hdr, data, sizeof hdr);
  AttrReader top(data + attrs_at, len - attrs_at);
  Attr a;
  while (top.Next(a)) {
    const size_t start = static_cast<size_t>(a.data - data) - NLA_HDRLEN;
    const size_t end = start + NLA_HDRLEN + a.len;
    if (static_cast<size_t>(offset) < start || static_cast<size_t>(offset) >= end) continue;
    if ((hdr.nlmsg_type & 0xff) == NFT_MSG_NEWRULE && a.type == NFTA_RULE_EXPRESSIONS) {
      AttrReader exprs(a);
      Attr e;
      for (int i = 0; exprs.Next(e); i++) {
        const size_t e_start = static_cast<size_t>(e.data - data) - NLA_HDRLEN;
        if (static_cast<size_t>(offset) >= e_start && static_cast<size_t>(offset) < e_start + NLA_HDRLEN + e.len) {
          AttrTable<NFTA_EXPR_DATA> expr(e);
          const Attr* name = expr.Get(NFTA_EXPR_NAME);
          return "expression #" + std::to_string(i) + (name ? " (" + name->Str() + ")" : "");
        }
      }
    }
    if (((hdr.nlmsg_type & 0xff) == NFT_MSG_NEWSETELEM || (hdr.nlmsg_type & 0xff) == NFT_MSG_DELSETELEM) &&
        a.type == NFTA_SET_ELEM_LIST_ELEMENTS) {
      AttrReader elems(a);
      Attr e;
      for (int i = 0; elems.Next(e); i++) {
        const size_t e_start = static_cast<size_t>(e.data - data) - NLA_HDRLEN;
        if (static_cast<size_t>(offset) >= e_start && static_cast<size_t>(offset) < e_start + NLA_HDRLEN + e.len) {
          return "element #" + std::to_string(i) + " of this message";
        }
      }
    }
    return AttributeName(hdr.nlmsg_type & 0xff, a.type);
  }
  return "";
}

Value SendBatch(const NftBatch& batch, const std::string& netns) {
  NetlinkSocket sock(NETLINK_NETFILTER, netns);
  const size_t messages = batch.op_of_seq.size();
  sock.EnsureBufferSizes(batch.bytes + 65536,
                         std::min(kMaxReceiveBuffer, std::max<size_t>(messages * kReceiveBytesPerMessage, 1 << 20)));

  std::vector<iovec> iov;
  std::vector<uint8_t> coalesced;
  if (batch.chunks.size() <= kMaxIovecs) {
    for (const auto& chunk : batch.chunks) iov.push_back({const_cast<uint8_t*>(chunk.data()), chunk.size()});
  } else {
    coalesced.reserve(batch.bytes);
    for (const auto& chunk : batch.chunks) coalesced.insert(coalesced.end(), chunk.begin(), chunk.end());
    iov.push_back({coalesced.data(), coalesced.size()});
  }
  sock.Send(iov);

  // The kernel processes the whole batch inside sendmsg(), so every reply is queued by now:
  // drain without waiting (like nft). Commands carry no NLM_F_ACK, so only errors (and the
  // BATCH_END ack on kernels that send it) come back.
  Value failures = Value::Array();
  bool end_acked = false;
  std::vector<uint8_t> buf;
  for (;;) {
    try {
      if (!sock.Receive(buf, 0)) break;
    } catch (const NetlinkFailure& e) {
      if (e.err() != ENOBUFS) throw;
      // Only errors (and one END ack) are queued, so an overflow means more errors than the
      // receive buffer could hold: the batch was refused.
      Value f = Value::Object();
      f.Set("opIndex", Value::Number(-1));
      f.Set("seq", Value::Number(0));
      f.Set("errno", Value::Number(ENOBUFS));
      f.Set("code", Value::Str(ErrnoName(ENOBUFS)));
      f.Set("message", Value::Str("more errors than the receive buffer holds; nothing was applied"));
      failures.Push(std::move(f));
      break;
    }
    MessageReader reader(buf.data(), buf.size());
    Message msg;
    while (reader.Next(msg)) {
      sock.CheckReply(msg, kFirstSeq, batch.last_seq);
      if (msg.hdr.nlmsg_type != NLMSG_ERROR) continue;
      AckInfo ack = ParseAck(msg);
      if (ack.error == 0) {
        if (ack.seq == batch.last_seq) end_acked = true;
        continue;
      }
      Value f = Value::Object();
      const int64_t op_index = batch.op_of_seq[ack.seq - kFirstSeq];
      f.Set("opIndex", Value::Number(static_cast<double>(op_index)));
      f.Set("seq", Value::Number(ack.seq));
      f.Set("errno", Value::Number(ack.error));
      f.Set("code", Value::Str(ErrnoName(ack.error)));
      f.Set("message", Value::Str(std::strerror(ack.error)));
      if (!ack.message.empty()) f.Set("extackMessage", Value::Str(ack.message));
      if (ack.offset >= 0) {
        f.Set("extackOffset", Value::Number(static_cast<double>(ack.offset)));
        const std::string where = DescribeOffset(batch, ack.seq, ack.offset);
        if (!where.empty()) f.Set("extackLocation", Value::Str(where));
      }
      failures.Push(std::move(f));
    }
  }
  Value result = Value::Object();
  result.Set("committed", Value::Bool(failures.Length() == 0));
  result.Set("endAcknowledged", Value::Bool(end_acked));
  result.Set("messages", Value::Number(static_cast<double>(messages)));
  result.Set("bytes", Value::Number(static_cast<double>(batch.bytes)));
  result.Set("sendmsgCalls", Value::Number(1));
  result.Set("failures", std::move(failures));
  return result;
}

// ---- reading back -------------------------------------------------------------------------------

enum class DumpKind { Tables, Chains, Sets, Elements, Rules };

DumpKind ParseDumpKind(const std::string& kind) {
  if (kind == "tables") return DumpKind::Tables;
  if (kind == "chains") return DumpKind::Chains;
  if (kind == "sets") return DumpKind::Sets;
  if (kind == "elements") return DumpKind::Elements;
  if (kind == "rules") return DumpKind::Rules;
  throw InputError("unknown nf_tables listing '" + kind + "'");
}

struct DumpFilter {
  uint8_t family = NFPROTO_UNSPEC;
  std::string table;
  std::string chain;
  std::string set;
};

std::vector<uint8_t> BuildDumpRequest(DumpKind kind, const DumpFilter& f, uint32_t seq) {
  static const uint16_t kTypes[] = {NFT_MSG_GETTABLE, NFT_MSG_GETCHAIN, NFT_MSG_GETSET, NFT_MSG_GETSETELEM,
                                    NFT_MSG_GETRULE};
  MessageWriter w;
  auto msg = w.BeginMessage(NftType(kTypes[static_cast<int>(kind)]), NLM_F_REQUEST | NLM_F_DUMP, seq);
  nfgenmsg hdr{};
  hdr.nfgen_family = f.family;
  hdr.version = NFNETLINK_V0;
  w.PutHeader(hdr);
  switch (kind) {
    case DumpKind::Tables:
      break;
    case DumpKind::Chains:
      if (!f.table.empty()) w.PutString(NFTA_CHAIN_TABLE, f.table);
      break;
    case DumpKind::Sets:
      if (!f.table.empty()) w.PutString(NFTA_SET_TABLE, f.table);
      break;
    case DumpKind::Elements:
      w.PutString(NFTA_SET_ELEM_LIST_TABLE, f.table);
      w.PutString(NFTA_SET_ELEM_LIST_SET, f.set);
      break;
    case DumpKind::Rules:
      if (!f.table.empty()) w.PutString(NFTA_RULE_TABLE, f.table);
      if (!f.chain.empty()) w.PutString(NFTA_RULE_CHAIN, f.chain);
      break;
  }
  w.EndMessage(msg);
  return std::move(w.Bytes());
}

void SetUserdata(Value& out, const Attr* a) {
  if (a) out.Set("userdata", Value::Bytes(a->data, a->len));
}

Value DecodeTable(const Message& m) {
  const auto g = m.FamilyHeader<nfgenmsg>();
  auto t = m.TableAfter<nfgenmsg, NFTA_TABLE_MAX>();
  Value v = Value::Object();
  v.Set("family", Value::Number(g.nfgen_family));
  v.Set("name", Value::Str(t.Require(NFTA_TABLE_NAME, "NFTA_TABLE_NAME").Str()));
  if (const Attr* a = t.Get(NFTA_TABLE_HANDLE)) v.Set("handle", Value::Number(static_cast<double>(a->Be64())));
  if (const Attr* a = t.Get(NFTA_TABLE_FLAGS)) v.Set("flags", Value::Number(a->Be32()));
  if (const Attr* a = t.Get(NFTA_TABLE_USE)) v.Set("use", Value::Number(a->Be32()));
  SetUserdata(v, t.Get(NFTA_TABLE_USERDATA));
  return v;
}

Value DecodeChain(const Message& m) {
  const auto g = m.FamilyHeader<nfgenmsg>();
  auto t = m.TableAfter<nfgenmsg, NFTA_CHAIN_MAX>();
  Value v = Value::Object();
  v.Set("family", Value::Number(g.nfgen_family));
  v.Set("table", Value::Str(t.Require(NFTA_CHAIN_TABLE, "NFTA_CHAIN_TABLE").Str()));
  v.Set("name", Value::Str(t.Require(NFTA_CHAIN_NAME, "NFTA_CHAIN_NAME").Str()));
  if (const Attr* a = t.Get(NFTA_CHAIN_HANDLE)) v.Set("handle", Value::Number(static_cast<double>(a->Be64())));
  if (const Attr* hook = t.Get(NFTA_CHAIN_HOOK)) {
    AttrTable<NFTA_HOOK_DEVS> h(*hook);
    Value hv = Value::Object();
    hv.Set("hooknum", Value::Number(h.Require(NFTA_HOOK_HOOKNUM, "NFTA_HOOK_HOOKNUM").Be32()));
    hv.Set("priority",
           Value::Number(static_cast<int32_t>(h.Require(NFTA_HOOK_PRIORITY, "NFTA_HOOK_PRIORITY").Be32())));
    if (const Attr* dev = h.Get(NFTA_HOOK_DEV)) hv.Set("dev", Value::Str(dev->Str()));
    v.Set("hook", std::move(hv));
  }
  if (const Attr* a = t.Get(NFTA_CHAIN_POLICY)) v.Set("policy", Value::Number(a->Be32()));
  if (const Attr* a = t.Get(NFTA_CHAIN_TYPE)) v.Set("type", Value::Str(a->Str()));
  if (const Attr* a = t.Get(NFTA_CHAIN_USE)) v.Set("use", Value::Number(a->Be32()));
  if (const Attr* a = t.Get(NFTA_CHAIN_FLAGS)) v.Set("flags", Value::Number(a->Be32()));
  SetUserdata(v, t.Get(NFTA_CHAIN_USERDATA));
  return v;
}

Value DecodeSet(const Message& m) {
  const auto g = m.FamilyHeader<nfgenmsg>();
  auto t = m.TableAfter<nfgenmsg, NFTA_SET_MAX>();
  Value v = Value::Object();
  v.Set("family", Value::Number(g.nfgen_family));
  v.Set("table", Value::Str(t.Require(NFTA_SET_TABLE, "NFTA_SET_TABLE").Str()));
  v.Set("name", Value::Str(t.Require(NFTA_SET_NAME, "NFTA_SET_NAME").Str()));
  if (const Attr* a = t.Get(NFTA_SET_HANDLE)) v.Set("handle", Value::Number(static_cast<double>(a->Be64())));
  v.Set("flags", Value::Number(t.Get(NFTA_SET_FLAGS) ? t.Get(NFTA_SET_FLAGS)->Be32() : 0));
  v.Set("keyType", Value::Number(t.Require(NFTA_SET_KEY_TYPE, "NFTA_SET_KEY_TYPE").Be32()));
  v.Set("keyLen", Value::Number(t.Require(NFTA_SET_KEY_LEN, "NFTA_SET_KEY_LEN").Be32()));
  if (const Attr* a = t.Get(NFTA_SET_DATA_TYPE)) v.Set("dataType", Value::Number(a->Be32()));
  if (const Attr* a = t.Get(NFTA_SET_DATA_LEN)) v.Set("dataLen", Value::Number(a->Be32()));
  if (const Attr* a = t.Get(NFTA_SET_POLICY)) v.Set("policy", Value::Number(a->Be32()));
  if (const Attr* desc = t.Get(NFTA_SET_DESC)) {
    AttrTable<NFTA_SET_DESC_CONCAT> d(*desc);
    if (const Attr* a = d.Get(NFTA_SET_DESC_SIZE)) v.Set("size", Value::Number(a->Be32()));
    if (const Attr* concat = d.Get(NFTA_SET_DESC_CONCAT)) {
      Value lens = Value::Array();
      AttrReader fields(*concat);
      Attr field;
      while (fields.Next(field)) {
        AttrTable<NFTA_SET_FIELD_LEN> fl(field);
        lens.Push(Value::Number(fl.Require(NFTA_SET_FIELD_LEN, "NFTA_SET_FIELD_LEN").Be32()));
      }
      v.Set("fieldLens", std::move(lens));
    }
  }
  if (const Attr* a = t.Get(NFTA_SET_TIMEOUT)) v.Set("timeoutMs", Value::Number(static_cast<double>(a->Be64())));
  if (const Attr* a = t.Get(NFTA_SET_GC_INTERVAL)) v.Set("gcIntervalMs", Value::Number(a->Be32()));
  SetUserdata(v, t.Get(NFTA_SET_USERDATA));
  return v;
}

void DecodeElements(const Message& m, Value& out) {
  auto t = m.TableAfter<nfgenmsg, NFTA_SET_ELEM_LIST_MAX>();
  const Attr* list = t.Get(NFTA_SET_ELEM_LIST_ELEMENTS);
  if (!list) return;
  AttrReader elems(*list);
  Attr elem;
  while (elems.Next(elem)) {
    AttrTable<NFTA_SET_ELEM_MAX> e(elem);
    Value v = Value::Object();
    if (const Attr* key = e.Get(NFTA_SET_ELEM_KEY)) DecodeNftData(*key, v, "key");
    if (const Attr* key_end = e.Get(NFTA_SET_ELEM_KEY_END)) DecodeNftData(*key_end, v, "keyEnd");
    if (const Attr* data = e.Get(NFTA_SET_ELEM_DATA)) DecodeNftData(*data, v, "data");
    if (const Attr* a = e.Get(NFTA_SET_ELEM_FLAGS)) v.Set("flags", Value::Number(a->Be32()));
    if (const Attr* a = e.Get(NFTA_SET_ELEM_TIMEOUT)) {
      v.Set("timeoutMs", Value::Number(static_cast<double>(a->Be64())));
    }
    if (const Attr* a = e.Get(NFTA_SET_ELEM_EXPIRATION)) {
      v.Set("expiresMs", Value::Number(static_cast<double>(a->Be64())));
    }
    SetUserdata(v, e.Get(NFTA_SET_ELEM_USERDATA));
    out.Push(std::move(v));
  }
}

Value DecodeRule(const Message& m) {
  const auto g = m.FamilyHeader<nfgenmsg>();
  auto t = m.TableAfter<nfgenmsg, NFTA_RULE_MAX>();
  Value v = Value::Object();
  v.Set("family", Value::Number(g.nfgen_family));
  v.Set("table", Value::Str(t.Require(NFTA_RULE_TABLE, "NFTA_RULE_TABLE").Str()));
  v.Set("chain", Value::Str(t.Require(NFTA_RULE_CHAIN, "NFTA_RULE_CHAIN").Str()));
  if (const Attr* a = t.Get(NFTA_RULE_HANDLE)) v.Set("handle", Value::Number(static_cast<double>(a->Be64())));
  if (const Attr* a = t.Get(NFTA_RULE_POSITION)) v.Set("position", Value::Number(static_cast<double>(a->Be64())));
  Value exprs = Value::Array();
  if (const Attr* list = t.Get(NFTA_RULE_EXPRESSIONS)) {
    AttrReader reader(*list);
    Attr e;
    while (reader.Next(e)) exprs.Push(DecodeNftExpr(e));
  }
  v.Set("exprs", std::move(exprs));
  SetUserdata(v, t.Get(NFTA_RULE_USERDATA));
  return v;
}

Value DecodeDump(DumpKind kind, const std::vector<std::vector<uint8_t>>& datagrams, const NetlinkSocket* sock,
                 uint32_t seq, const DumpFilter& filter) {
  Value out = Value::Array();
  ForEachDumpMessage(datagrams, sock, seq, [&](const Message& m) {
    const uint16_t subsys = m.hdr.nlmsg_type >> 8;
    if (subsys != NFNL_SUBSYS_NFTABLES) throw ParseError("reply from nfnetlink subsystem " + std::to_string(subsys));
    switch (kind) {
      case DumpKind::Tables:
        out.Push(DecodeTable(m));
        break;
      case DumpKind::Chains: {
        Value chain = DecodeChain(m);
        // Older kernels ignore the table filter of a chain dump; filter here as well.
        if (!filter.table.empty()) {
          auto t = m.TableAfter<nfgenmsg, NFTA_CHAIN_MAX>();
          if (t.Require(NFTA_CHAIN_TABLE, "NFTA_CHAIN_TABLE").Str() != filter.table) break;
        }
        out.Push(std::move(chain));
        break;
      }
      case DumpKind::Sets:
        out.Push(DecodeSet(m));
        break;
      case DumpKind::Elements:
        DecodeElements(m, out);
        break;
      case DumpKind::Rules:
        out.Push(DecodeRule(m));
        break;
    }
  });
  return out;
}

DumpFilter ReadFilter(const Napi::Value& value) {
  DumpFilter f;
  if (value.IsUndefined() || value.IsNull()) return f;
  if (!value.IsObject()) throw Napi::TypeError::New(value.Env(), "filter must be an object");
  auto obj = value.As<Napi::Object>();
  if (auto family = OptU32Prop(obj, "family")) {
    if (*family > 255) throw Napi::TypeError::New(value.Env(), "family must fit in 8 bits");
    f.family = static_cast<uint8_t>(*family);
  }
  f.table = OptStringProp(obj, "table").value_or("");
  f.chain = OptStringProp(obj, "chain").value_or("");
  f.set = OptStringProp(obj, "set").value_or("");
  return f;
}

// ---- JavaScript entry points ---------------------------------------------------------------------

using BatchHandle = std::shared_ptr<NftBatch>;

// nftEncodeBatch(wireBytes) -> { handle, messages, bytes, chunks, operations }
Napi::Value EncodeBatchJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "nftEncodeBatch expects the Uint8Array from nftables-wire.ts");
  }
  auto wire = info[0].As<Napi::Uint8Array>();
  BatchHandle batch;
  try {
    batch = EncodeBatch(wire.Data(), wire.ByteLength());
  } catch (const InputError& e) {
    throw Napi::TypeError::New(env, e.what());
  }
  const int64_t bytes = static_cast<int64_t>(batch->bytes);
  Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
  auto handle = Napi::External<BatchHandle>::New(env, new BatchHandle(batch), [bytes](Napi::Env e, BatchHandle* p) {
    Napi::MemoryManagement::AdjustExternalMemory(e, -bytes);
    delete p;
  });
  Napi::Object out = Napi::Object::New(env);
  out.Set("handle", handle);
  out.Set("messages", Napi::Number::New(env, static_cast<double>(batch->op_of_seq.size())));
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(batch->bytes)));
  out.Set("chunks", Napi::Number::New(env, static_cast<double>(batch->chunks.size())));
  out.Set("operations", Napi::Number::New(env, static_cast<double>(batch->operations)));
  return out;
}

// nftSendBatch(handle, options) -> Promise<{ committed, failures, ... }>
Napi::Value SendBatchJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) throw Napi::TypeError::New(env, "batch handle expected");
  BatchHandle batch = *info[0].As<Napi::External<BatchHandle>>().Data();
  std::string netns = NetnsArg(info.Length() > 1 ? info[1] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:nftSendBatch", [batch, netns]() { return SendBatch(*batch, netns); });
}

// nftList(kind, filter, options) -> Promise<object[]>
Napi::Value ListJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "listing kind expected");
  DumpKind kind;
  try {
    kind = ParseDumpKind(info[0].As<Napi::String>().Utf8Value());
  } catch (const InputError& e) {
    throw Napi::TypeError::New(env, e.what());
  }
  DumpFilter filter = ReadFilter(info.Length() > 1 ? info[1] : env.Undefined());
  if (kind == DumpKind::Elements && (filter.table.empty() || filter.set.empty())) {
    throw Napi::TypeError::New(env, "listing elements needs filter.table and filter.set");
  }
  std::string netns = NetnsArg(info.Length() > 2 ? info[2] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:nftList", [kind, filter, netns]() {
    NetlinkSocket sock(NETLINK_NETFILTER, netns);
    constexpr uint32_t seq = 1;
    auto datagrams = DumpRaw(sock, BuildDumpRequest(kind, filter, seq), seq, kReplyTimeoutMs);
    return DecodeDump(kind, datagrams, &sock, seq, filter);
  });
}

// Test only: the raw reply bytes of a listing (seeds for the parser fuzz test).
Napi::Value DumpRawJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DumpKind kind;
  try {
    kind = ParseDumpKind(info[0].As<Napi::String>().Utf8Value());
  } catch (const InputError& e) {
    throw Napi::TypeError::New(env, e.what());
  }
  DumpFilter filter = ReadFilter(info.Length() > 1 ? info[1] : env.Undefined());
  std::string netns = NetnsArg(info.Length() > 2 ? info[2] : env.Undefined());
  return PromiseWorker::Start(env, "kpt:nftDumpRaw", [kind, filter, netns]() {
    NetlinkSocket sock(NETLINK_NETFILTER, netns);
    constexpr uint32_t seq = 1;
    auto datagrams = DumpRaw(sock, BuildDumpRequest(kind, filter, seq), seq, kReplyTimeoutMs);
    std::vector<uint8_t> all;
    for (const auto& d : datagrams) all.insert(all.end(), d.begin(), d.end());
    return Value::Bytes(std::move(all));
  });
}

}  // namespace

Value ParseNftReplies(const std::string& kind, const uint8_t* data, size_t len) {
  std::vector<std::vector<uint8_t>> datagrams{std::vector<uint8_t>(data, data + len)};
  return DecodeDump(ParseDumpKind(kind), datagrams, nullptr, 0, DumpFilter{});
}

void RegisterNftables(Napi::Env env, Napi::Object exports) {
  exports.Set("nftEncodeBatch", Napi::Function::New(env, EncodeBatchJs, "nftEncodeBatch"));
  exports.Set("nftSendBatch", Napi::Function::New(env, SendBatchJs, "nftSendBatch"));
  exports.Set("nftList", Napi::Function::New(env, ListJs, "nftList"));
  exports.Set("testNftDumpRaw", Napi::Function::New(env, DumpRawJs, "testNftDumpRaw"));
  exports.Set("wireFields", Napi::String::New(env, FieldNameList()));
}

}  // namespace kpt
