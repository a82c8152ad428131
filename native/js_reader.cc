#include "js_reader.h"

#include <cmath>
#include <cstring>

namespace kpt {

namespace {

constexpr const char* kFieldNames[] = {
    "op", "kind", "family", "name", "table", "chain", "set", "setId", "flags", "userdata", "hook", "hooknum",
    "priority", "type", "policy", "exprs", "handle", "keyType", "keyLen", "dataType", "dataLen", "id", "timeoutMs",
    "gcIntervalMs", "size", "fieldLens", "elements", "key", "keyEnd", "data", "verdict", "code", "dreg", "sreg",
    "base", "offset", "len", "mask", "xor", "from", "to", "regAddrMin", "regAddrMax", "regProtoMin", "regProtoMax",
    "modulus", "direction", "bytes", "packets", "sregKey", "sregData", "result", "create", "position"};
static_assert(sizeof(kFieldNames) / sizeof(kFieldNames[0]) == static_cast<size_t>(Field::count_),
              "one name per Field");

void Check(napi_status status, const char* what) {
  if (status != napi_ok) throw InputError(std::string("N-API failure while reading ") + what);
}

}  // namespace

const char* JsReader::Name(Field f) { return kFieldNames[static_cast<size_t>(f)]; }

JsReader::JsReader(Napi::Env env) : env_(env) {
  for (size_t i = 0; i < static_cast<size_t>(Field::count_); i++) {
    Check(napi_create_string_utf8(env_, kFieldNames[i], NAPI_AUTO_LENGTH, &keys_[i]), kFieldNames[i]);
  }
}

napi_value JsReader::Get(napi_value obj, Field f) const {
  napi_value v;
  Check(napi_get_property(env_, obj, keys_[static_cast<size_t>(f)], &v), Name(f));
  napi_valuetype t;
  Check(napi_typeof(env_, v, &t), Name(f));
  if (t == napi_undefined || t == napi_null) return nullptr;
  return v;
}

napi_value JsReader::Require(napi_value obj, Field f) const {
  napi_value v = Get(obj, f);
  if (!v) throw InputError(std::string(Name(f)) + " is required");
  return v;
}

bool JsReader::IsObject(napi_value v) const {
  napi_valuetype t;
  return v && napi_typeof(env_, v, &t) == napi_ok && t == napi_object;
}

uint32_t JsReader::ArrayLength(napi_value arr, Field f) const {
  bool is_array = false;
  Check(napi_is_array(env_, arr, &is_array), Name(f));
  if (!is_array) throw InputError(std::string(Name(f)) + " must be an array");
  uint32_t n;
  Check(napi_get_array_length(env_, arr, &n), Name(f));
  return n;
}

napi_value JsReader::Element(napi_value arr, uint32_t i) const {
  napi_value v;
  Check(napi_get_element(env_, arr, i, &v), "array element");
  return v;
}

double JsReader::Number(napi_value v, Field f) const {
  double d;
  if (napi_get_value_double(env_, v, &d) != napi_ok) throw InputError(std::string(Name(f)) + " must be a number");
  return d;
}

uint32_t JsReader::ToU32(napi_value v, Field f) const {
  double d = Number(v, f);
  if (!(d >= 0 && d <= 4294967295.0) || std::floor(d) != d) {
    throw InputError(std::string(Name(f)) + " must be an integer in 0..2^32-1");
  }
  return static_cast<uint32_t>(d);
}

int32_t JsReader::ToI32(napi_value v, Field f) const {
  double d = Number(v, f);
  if (!(d >= -2147483648.0 && d <= 2147483647.0) || std::floor(d) != d) {
    throw InputError(std::string(Name(f)) + " must be a 32-bit integer");
  }
  return static_cast<int32_t>(d);
}

uint64_t JsReader::ToU64(napi_value v, Field f) const {
  napi_valuetype t;
  Check(napi_typeof(env_, v, &t), Name(f));
  if (t == napi_bigint) {
    uint64_t n;
    bool lossless;
    Check(napi_get_value_bigint_uint64(env_, v, &n, &lossless), Name(f));
    if (!lossless) throw InputError(std::string(Name(f)) + " must fit in 64 bits");
    return n;
  }
  double d = Number(v, f);
  if (!(d >= 0 && d <= 9007199254740991.0) || std::floor(d) != d) {
    throw InputError(std::string(Name(f)) + " must be a non-negative integer");
  }
  return static_cast<uint64_t>(d);
}

std::string JsReader::ToString(napi_value v, Field f) const {
  size_t len;
  if (napi_get_value_string_utf8(env_, v, nullptr, 0, &len) != napi_ok) {
    throw InputError(std::string(Name(f)) + " must be a string");
  }
  std::string s(len, '\0');
  Check(napi_get_value_string_utf8(env_, v, s.data(), len + 1, &len), Name(f));
  if (s.find('\0') != std::string::npos) throw InputError(std::string(Name(f)) + " must not contain NUL");
  return s;
}

std::pair<const uint8_t*, size_t> JsReader::ToBytes(napi_value v, Field f) const {
  bool is_typed = false;
  Check(napi_is_typedarray(env_, v, &is_typed), Name(f));
  if (!is_typed) throw InputError(std::string(Name(f)) + " must be a Uint8Array");
  napi_typedarray_type type;
  size_t length;
  void* data;
  Check(napi_get_typedarray_info(env_, v, &type, &length, &data, nullptr, nullptr), Name(f));
  if (type != napi_uint8_array) throw InputError(std::string(Name(f)) + " must be a Uint8Array");
  return std::make_pair(static_cast<const uint8_t*>(data), length);
}

std::optional<uint32_t> JsReader::OptU32(napi_value obj, Field f) const {
  napi_value v = Get(obj, f);
  if (!v) return std::nullopt;
  return ToU32(v, f);
}

uint32_t JsReader::U32(napi_value obj, Field f) const { return ToU32(Require(obj, f), f); }

std::optional<int32_t> JsReader::OptI32(napi_value obj, Field f) const {
  napi_value v = Get(obj, f);
  if (!v) return std::nullopt;
  return ToI32(v, f);
}

int32_t JsReader::I32(napi_value obj, Field f) const { return ToI32(Require(obj, f), f); }

std::optional<uint64_t> JsReader::OptU64(napi_value obj, Field f) const {
  napi_value v = Get(obj, f);
  if (!v) return std::nullopt;
  return ToU64(v, f);
}

bool JsReader::OptBool(napi_value obj, Field f) const {
  napi_value v = Get(obj, f);
  if (!v) return false;
  bool b;
  if (napi_get_value_bool(env_, v, &b) != napi_ok) throw InputError(std::string(Name(f)) + " must be a boolean");
  return b;
}

std::optional<std::string> JsReader::OptString(napi_value obj, Field f) const {
  napi_value v = Get(obj, f);
  if (!v) return std::nullopt;
  return ToString(v, f);
}

std::string JsReader::String(napi_value obj, Field f) const { return ToString(Require(obj, f), f); }

std::string_view JsReader::Tag(napi_value obj, Field f, char (&buf)[32]) const {
  napi_value v = Require(obj, f);
  size_t len;
  if (napi_get_value_string_utf8(env_, v, buf, sizeof buf, &len) != napi_ok) {
    throw InputError(std::string(Name(f)) + " must be a string");
  }
  return std::string_view(buf, len);
}

bool JsReader::StringEquals(napi_value value, const char* literal) const {
  char buf[32];
  size_t len;
  if (napi_get_value_string_utf8(env_, value, buf, sizeof buf, &len) != napi_ok) return false;
  return std::strlen(literal) == len && std::memcmp(buf, literal, len) == 0;
}

std::optional<std::pair<const uint8_t*, size_t>> JsReader::OptBytes(napi_value obj, Field f) const {
  napi_value v = Get(obj, f);
  if (!v) return std::nullopt;
  return ToBytes(v, f);
}

std::pair<const uint8_t*, size_t> JsReader::Bytes(napi_value obj, Field f) const {
  return ToBytes(Require(obj, f), f);
}

}  // namespace kpt
