#include "wire.h"

#include <cstring>

namespace kpt {

namespace {

constexpr const char* kFieldNames[] = {
    "op", "kind", "family", "name", "table", "chain", "set", "setId", "flags", "userdata", "hook", "hooknum",
    "priority", "type", "policy", "exprs", "handle", "keyType", "keyLen", "dataType", "dataLen", "id", "timeoutMs",
    "gcIntervalMs", "size", "fieldLens", "elements", "key", "keyEnd", "data", "verdict", "code", "dreg", "sreg",
    "base", "offset", "len", "mask", "xor", "from", "to", "regAddrMin", "regAddrMax", "regProtoMin", "regProtoMax",
    "modulus", "direction", "bytes", "packets", "sregKey", "sregData", "result", "create", "position"};
static_assert(sizeof(kFieldNames) / sizeof(kFieldNames[0]) == kFieldCount, "one name per Field");

uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;  // little endian on every platform this addon builds for (x86-64, arm64)
}

[[noreturn]] void Malformed(const char* what) { throw InputError(std::string("malformed operation buffer: ") + what); }

const char* TypeName(WireType t) {
  switch (t) {
    case WireType::U32:
    case WireType::I32:
    case WireType::U64:
      return "a number";
    case WireType::Bool:
      return "a boolean";
    case WireType::Str:
      return "a string";
    case WireType::Bytes:
      return "a Uint8Array";
    case WireType::Record:
      return "an object";
    case WireType::Array:
      return "an array";
  }
  return "?";
}

}  // namespace

const char* FieldName(Field f) {
  const size_t i = static_cast<size_t>(f);
  return i < kFieldCount ? kFieldNames[i] : "?";
}

std::string FieldNameList() {
  std::string out;
  for (size_t i = 0; i < kFieldCount; i++) {
    if (i) out += ',';
    out += kFieldNames[i];
  }
  return out;
}

const uint8_t* WireRecord::ReadValue(const uint8_t* p, const uint8_t* end, WireValue& out) {
  if (p >= end) Malformed("value expected");
  out.type = static_cast<WireType>(*p++);
  const size_t left = static_cast<size_t>(end - p);
  switch (out.type) {
    case WireType::U32:
    case WireType::I32:
      if (left < 4) Malformed("truncated number");
      out.data = p;
      out.len = 4;
      return p + 4;
    case WireType::U64:
      if (left < 8) Malformed("truncated number");
      out.data = p;
      out.len = 8;
      return p + 8;
    case WireType::Bool:
      if (left < 1) Malformed("truncated boolean");
      out.data = p;
      out.len = 1;
      return p + 1;
    case WireType::Str:
    case WireType::Bytes:
    case WireType::Record: {
      if (left < 4) Malformed("truncated length");
      const uint32_t len = LoadU32(p);
      if (len > left - 4) Malformed("length beyond the buffer");
      out.data = p + 4;
      out.len = len;
      return p + 4 + len;
    }
    case WireType::Array: {
      if (left < 8) Malformed("truncated array header");
      out.count = LoadU32(p);
      const uint32_t len = LoadU32(p + 4);
      if (len > left - 8) Malformed("array beyond the buffer");
      out.data = p + 8;
      out.len = len;
      return p + 8 + len;
    }
  }
  Malformed("unknown value type");
}

uint32_t WireRecord::ValueU32(const WireValue& v, Field f) {
  if (v.type == WireType::U32) return LoadU32(v.data);
  throw InputError(std::string(FieldName(f)) + " must be an integer in 0..2^32-1");
}

bool WireArray::Next(WireValue& out) {
  if (seen_ == count_) {
    if (p_ != end_) Malformed("array longer than its count");
    return false;
  }
  p_ = WireRecord::ReadValue(p_, end_, out);
  seen_++;
  return true;
}

WireRecord::WireRecord(const uint8_t* data, size_t len) {
  const uint8_t* p = data;
  const uint8_t* end = data + len;
  while (p < end) {
    const uint8_t id = *p++;
    if (id >= kFieldCount) Malformed("unknown field id");
    p = ReadValue(p, end, values_[id]);
    present_[id] = true;
  }
}

WireRecord::WireRecord(const WireValue& v) : WireRecord(v.data, v.len) {
  if (v.type != WireType::Record) throw InputError("an object was expected");
}

const WireValue& WireRecord::Require(Field f, WireType type) const {
  const size_t i = static_cast<size_t>(f);
  if (!present_[i]) throw InputError(std::string(FieldName(f)) + " is required");
  if (values_[i].type != type) {
    throw InputError(std::string(FieldName(f)) + " must be " + TypeName(type) + ", got " + TypeName(values_[i].type));
  }
  return values_[i];
}

uint32_t WireRecord::U32(Field f) const {
  const size_t i = static_cast<size_t>(f);
  if (!present_[i]) throw InputError(std::string(FieldName(f)) + " is required");
  return ValueU32(values_[i], f);
}

std::optional<uint32_t> WireRecord::OptU32(Field f) const {
  if (!Has(f)) return std::nullopt;
  return U32(f);
}

int32_t WireRecord::I32(Field f) const {
  const size_t i = static_cast<size_t>(f);
  if (!present_[i]) throw InputError(std::string(FieldName(f)) + " is required");
  const WireValue& v = values_[i];
  if (v.type == WireType::I32) return static_cast<int32_t>(LoadU32(v.data));
  if (v.type == WireType::U32 && LoadU32(v.data) <= INT32_MAX) return static_cast<int32_t>(LoadU32(v.data));
  throw InputError(std::string(FieldName(f)) + " must be a 32-bit integer");
}

uint32_t WireRecord::Bits32(Field f) const {
  const size_t i = static_cast<size_t>(f);
  if (!present_[i]) throw InputError(std::string(FieldName(f)) + " is required");
  const WireValue& v = values_[i];
  if (v.type != WireType::U32 && v.type != WireType::I32) {
    throw InputError(std::string(FieldName(f)) + " must be a 32-bit integer");
  }
  return LoadU32(v.data);
}

std::optional<uint64_t> WireRecord::OptU64(Field f) const {
  const size_t i = static_cast<size_t>(f);
  if (!present_[i]) return std::nullopt;
  const WireValue& v = values_[i];
  if (v.type == WireType::U32) return LoadU32(v.data);
  if (v.type == WireType::U64) {
    uint64_t n;
    std::memcpy(&n, v.data, 8);
    return n;
  }
  throw InputError(std::string(FieldName(f)) + " must be a non-negative integer");
}

bool WireRecord::OptBool(Field f) const {
  if (!Has(f)) return false;
  return *Require(f, WireType::Bool).data != 0;
}

std::string WireRecord::Str(Field f) const {
  const WireValue& v = Require(f, WireType::Str);
  std::string s(reinterpret_cast<const char*>(v.data), v.len);
  if (s.find('\0') != std::string::npos) throw InputError(std::string(FieldName(f)) + " must not contain NUL");
  return s;
}

std::optional<std::string> WireRecord::OptStr(Field f) const {
  if (!Has(f)) return std::nullopt;
  return Str(f);
}

std::pair<const uint8_t*, size_t> WireRecord::Bytes(Field f) const {
  const WireValue& v = Require(f, WireType::Bytes);
  return {v.data, v.len};
}

std::optional<std::pair<const uint8_t*, size_t>> WireRecord::OptBytes(Field f) const {
  if (!Has(f)) return std::nullopt;
  return Bytes(f);
}

WireRecord WireRecord::Record(Field f) const { return WireRecord(Require(f, WireType::Record)); }

std::optional<WireRecord> WireRecord::OptRecord(Field f) const {
  if (!Has(f)) return std::nullopt;
  return Record(f);
}

WireArray WireRecord::Array(Field f) const {
  const WireValue& v = Require(f, WireType::Array);
  return WireArray(v.data, v.len, v.count);
}

std::optional<WireArray> WireRecord::OptArray(Field f) const {
  if (!Has(f)) return std::nullopt;
  return Array(f);
}

WireArray WireOperations(const uint8_t* data, size_t len) {
  if (len < 4 || std::memcmp(data, "KPW1", 4) != 0) Malformed("missing KPW1 header");
  WireValue v;
  const uint8_t* end = data + len;
  if (WireRecord::ReadValue(data + 4, end, v) != end || v.type != WireType::Array) {
    Malformed("expected exactly one array of operations");
  }
  return WireArray(v.data, v.len, v.count);
}

}  // namespace kpt
