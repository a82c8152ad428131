#include "nftables_expr.h"

#include <linux/netfilter/nf_tables.h>

#include <string>
#include <string_view>
#include <vector>

namespace kpt {

namespace {

// How a field travels: most nf_tables expression attributes are big-endian u32.
enum class Enc { Be32, U8, Be64, Str, Data, Verdict };

struct FieldSpec {
  Field field;
  uint16_t attr;
  Enc enc;
  bool required;
};

// One entry per supported expression; the IR kind is the kernel's expression name, and the
// same table drives decoding, so what we list back has the shape we send.
struct ExprSpec {
  const char* name;
  std::vector<FieldSpec> fields;
};

const std::vector<ExprSpec>& Specs() {
  static const std::vector<ExprSpec> specs = {
      {"payload",
       {{Field::dreg, NFTA_PAYLOAD_DREG, Enc::Be32, false},
        {Field::sreg, NFTA_PAYLOAD_SREG, Enc::Be32, false},
        {Field::base, NFTA_PAYLOAD_BASE, Enc::Be32, true},
        {Field::offset, NFTA_PAYLOAD_OFFSET, Enc::Be32, true},
        {Field::len, NFTA_PAYLOAD_LEN, Enc::Be32, true}}},
      {"meta",
       {{Field::key, NFTA_META_KEY, Enc::Be32, true},
        {Field::dreg, NFTA_META_DREG, Enc::Be32, false},
        {Field::sreg, NFTA_META_SREG, Enc::Be32, false}}},
      {"cmp",
       {{Field::sreg, NFTA_CMP_SREG, Enc::Be32, true},
        {Field::op, NFTA_CMP_OP, Enc::Be32, true},
        {Field::data, NFTA_CMP_DATA, Enc::Data, true}}},
      {"bitwise",
       {{Field::sreg, NFTA_BITWISE_SREG, Enc::Be32, true},
        {Field::dreg, NFTA_BITWISE_DREG, Enc::Be32, true},
        {Field::len, NFTA_BITWISE_LEN, Enc::Be32, true},
        {Field::mask, NFTA_BITWISE_MASK, Enc::Data, true},
        {Field::xor_, NFTA_BITWISE_XOR, Enc::Data, true}}},
      {"lookup",
       {{Field::set, NFTA_LOOKUP_SET, Enc::Str, true},
        {Field::sreg, NFTA_LOOKUP_SREG, Enc::Be32, true},
        {Field::dreg, NFTA_LOOKUP_DREG, Enc::Be32, false},
        {Field::setId, NFTA_LOOKUP_SET_ID, Enc::Be32, false},
        {Field::flags, NFTA_LOOKUP_FLAGS, Enc::Be32, false}}},
      {"immediate",
       {{Field::dreg, NFTA_IMMEDIATE_DREG, Enc::Be32, true},
        {Field::data, NFTA_IMMEDIATE_DATA, Enc::Data, false},
        {Field::verdict, NFTA_IMMEDIATE_DATA, Enc::Verdict, false}}},
      {"nat",
       {{Field::type, NFTA_NAT_TYPE, Enc::Be32, true},
        {Field::family, NFTA_NAT_FAMILY, Enc::Be32, true},
        {Field::regAddrMin, NFTA_NAT_REG_ADDR_MIN, Enc::Be32, false},
        {Field::regAddrMax, NFTA_NAT_REG_ADDR_MAX, Enc::Be32, false},
        {Field::regProtoMin, NFTA_NAT_REG_PROTO_MIN, Enc::Be32, false},
        {Field::regProtoMax, NFTA_NAT_REG_PROTO_MAX, Enc::Be32, false},
        {Field::flags, NFTA_NAT_FLAGS, Enc::Be32, false}}},
      {"masq",
       {{Field::flags, NFTA_MASQ_FLAGS, Enc::Be32, false},
        {Field::regProtoMin, NFTA_MASQ_REG_PROTO_MIN, Enc::Be32, false},
        {Field::regProtoMax, NFTA_MASQ_REG_PROTO_MAX, Enc::Be32, false}}},
      {"numgen",
       {{Field::dreg, NFTA_NG_DREG, Enc::Be32, true},
        {Field::modulus, NFTA_NG_MODULUS, Enc::Be32, true},
        {Field::type, NFTA_NG_TYPE, Enc::Be32, true},
        {Field::offset, NFTA_NG_OFFSET, Enc::Be32, false}}},
      {"ct",
       {{Field::key, NFTA_CT_KEY, Enc::Be32, true},
        {Field::dreg, NFTA_CT_DREG, Enc::Be32, false},
        {Field::sreg, NFTA_CT_SREG, Enc::Be32, false},
        {Field::direction, NFTA_CT_DIRECTION, Enc::U8, false}}},
      {"counter",
       {{Field::bytes, NFTA_COUNTER_BYTES, Enc::Be64, false},
        {Field::packets, NFTA_COUNTER_PACKETS, Enc::Be64, false}}},
      {"dynset",
       {{Field::set, NFTA_DYNSET_SET_NAME, Enc::Str, true},
        {Field::setId, NFTA_DYNSET_SET_ID, Enc::Be32, false},
        {Field::op, NFTA_DYNSET_OP, Enc::Be32, true},
        {Field::sregKey, NFTA_DYNSET_SREG_KEY, Enc::Be32, true},
        {Field::sregData, NFTA_DYNSET_SREG_DATA, Enc::Be32, false},
        {Field::timeoutMs, NFTA_DYNSET_TIMEOUT, Enc::Be64, false},
        {Field::flags, NFTA_DYNSET_FLAGS, Enc::Be32, false}}},
      {"reject",
       {{Field::type, NFTA_REJECT_TYPE, Enc::Be32, true},
        {Field::code, NFTA_REJECT_ICMP_CODE, Enc::U8, false}}},
      {"fib",
       {{Field::dreg, NFTA_FIB_DREG, Enc::Be32, true},
        {Field::result, NFTA_FIB_RESULT, Enc::Be32, true},
        {Field::flags, NFTA_FIB_FLAGS, Enc::Be32, true}}},
      {"range",
       {{Field::sreg, NFTA_RANGE_SREG, Enc::Be32, true},
        {Field::op, NFTA_RANGE_OP, Enc::Be32, true},
        {Field::from, NFTA_RANGE_FROM_DATA, Enc::Data, true},
        {Field::to, NFTA_RANGE_TO_DATA, Enc::Data, true}}},
  };
  return specs;
}

const ExprSpec* FindSpec(std::string_view name) {
  for (const auto& spec : Specs()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

}  // namespace

void PutNftDataValue(MessageWriter& w, uint16_t type, const uint8_t* data, size_t len) {
  if (len == 0 || len > 64) throw InputError("data value must be 1..64 bytes, got " + std::to_string(len));
  auto nest = w.BeginNest(type);
  w.PutAttr(NFTA_DATA_VALUE, data, len);
  w.EndNest(nest);
}

void PutNftVerdict(MessageWriter& w, uint16_t type, int32_t code, const std::string* chain) {
  auto data = w.BeginNest(type);
  auto verdict = w.BeginNest(NFTA_DATA_VERDICT);
  w.PutBe32(NFTA_VERDICT_CODE, static_cast<uint32_t>(code));
  if (chain) w.PutString(NFTA_VERDICT_CHAIN, *chain);
  w.EndNest(verdict);
  w.EndNest(data);
}

void EncodeNftExpr(const WireRecord& expr, MessageWriter& w) {
  const std::string kind = expr.Str(Field::kind);
  const ExprSpec* spec = FindSpec(kind);
  if (!spec) throw InputError("unsupported expression kind '" + kind + "'");

  auto elem = w.BeginNest(NFTA_LIST_ELEM);
  w.PutString(NFTA_EXPR_NAME, spec->name);
  auto data = w.BeginNest(NFTA_EXPR_DATA);
  for (const FieldSpec& f : spec->fields) {
    if (!expr.Has(f.field)) {
      if (f.required) throw InputError(kind + "." + FieldName(f.field) + " is required");
      continue;
    }
    switch (f.enc) {
      case Enc::Be32:
        // Registers, ops and flags are unsigned; verdict-like codes may be negative.
        w.PutBe32(f.attr, expr.Bits32(f.field));
        break;
      case Enc::U8: {
        const uint32_t n = expr.U32(f.field);
        if (n > 255) throw InputError(kind + "." + FieldName(f.field) + " must fit in 8 bits");
        w.PutU8(f.attr, static_cast<uint8_t>(n));
        break;
      }
      case Enc::Be64:
        w.PutBe64(f.attr, *expr.OptU64(f.field));
        break;
      case Enc::Str:
        w.PutString(f.attr, expr.Str(f.field));
        break;
      case Enc::Data: {
        auto bytes = expr.Bytes(f.field);
        PutNftDataValue(w, f.attr, bytes.first, bytes.second);
        break;
      }
      case Enc::Verdict: {
        const WireRecord verdict = expr.Record(f.field);
        auto chain = verdict.OptStr(Field::chain);
        PutNftVerdict(w, f.attr, verdict.I32(Field::code), chain ? &*chain : nullptr);
        break;
      }
    }
  }
  if (kind == "immediate" && !expr.Has(Field::data) && !expr.Has(Field::verdict)) {
    throw InputError("immediate needs data or verdict");
  }
  w.EndNest(data);
  w.EndNest(elem);
}

void DecodeNftData(const Attr& nest, Value& out, const char* bytes_field) {
  AttrTable<NFTA_DATA_VERDICT> data(nest);
  if (const Attr* value = data.Get(NFTA_DATA_VALUE)) {
    out.Set(bytes_field, Value::Bytes(value->data, value->len));
  }
  if (const Attr* verdict = data.Get(NFTA_DATA_VERDICT)) {
    AttrTable<NFTA_VERDICT_CHAIN_ID> v(*verdict);
    Value obj = Value::Object();
    obj.Set("code", Value::Number(static_cast<int32_t>(v.Require(NFTA_VERDICT_CODE, "NFTA_VERDICT_CODE").Be32())));
    if (const Attr* chain = v.Get(NFTA_VERDICT_CHAIN)) obj.Set("chain", Value::Str(chain->Str()));
    out.Set("verdict", std::move(obj));
  }
}

Value DecodeNftExpr(const Attr& list_elem) {
  AttrTable<NFTA_EXPR_DATA> expr(list_elem);
  const std::string name = expr.Require(NFTA_EXPR_NAME, "NFTA_EXPR_NAME").Str();
  Value out = Value::Object();
  out.Set("kind", Value::Str(name));
  const Attr* data = expr.Get(NFTA_EXPR_DATA);
  const ExprSpec* spec = FindSpec(name);
  if (!spec) {
    if (data) out.Set("raw", Value::Bytes(data->data, data->len));
    return out;
  }
  if (!data) return out;
  AttrReader reader(*data);
  Attr a;
  while (reader.Next(a)) {
    for (const FieldSpec& f : spec->fields) {
      if (f.attr != a.type || f.enc == Enc::Verdict) continue;
      const char* field = FieldName(f.field);
      switch (f.enc) {
        case Enc::Be32:
          out.Set(field, Value::Number(a.Be32()));
          break;
        case Enc::U8:
          out.Set(field, Value::Number(a.U8()));
          break;
        case Enc::Be64:
          out.Set(field, Value::Number(static_cast<double>(a.Be64())));
          break;
        case Enc::Str:
          out.Set(field, Value::Str(a.Str()));
          break;
        case Enc::Data:
          DecodeNftData(a, out, field);
          break;
        case Enc::Verdict:
          break;
      }
      break;
    }
  }
  return out;
}

}  // namespace kpt
