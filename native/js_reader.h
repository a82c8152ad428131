// Fast, validated reads of plain JavaScript objects (main thread only).
//
// The nf_tables encoder walks hundreds of thousands of small objects per transaction, so property
// names are created once per call (FieldKeys) and looked up with napi_get_property instead of
// re-creating a key string for every access. Every read checks the JavaScript type and throws
// InputError naming the field; the caller adds which operation it was in.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace kpt {

class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& what) : std::runtime_error(what) {}
};

// Every property name the encoders read, as enumerators so a lookup is an array index.
enum class Field {
  op, kind, family, name, table, chain, set, setId, flags, userdata, hook, hooknum, priority, type, policy, exprs,
  handle, keyType, keyLen, dataType, dataLen, id, timeoutMs, gcIntervalMs, size, fieldLens, elements, key, keyEnd,
  data, verdict, code, dreg, sreg, base, offset, len, mask, xor_, from, to, regAddrMin, regAddrMax, regProtoMin,
  regProtoMax, modulus, direction, bytes, packets, sregKey, sregData, result, create, position, count_
};

class JsReader {
 public:
  explicit JsReader(Napi::Env env);

  napi_env env() const { return env_; }
  // The property value, or nullptr when it is undefined or null.
  napi_value Get(napi_value obj, Field f) const;
  napi_value Require(napi_value obj, Field f) const;

  bool IsObject(napi_value v) const;
  uint32_t ArrayLength(napi_value arr, Field f) const;
  napi_value Element(napi_value arr, uint32_t i) const;

  uint32_t U32(napi_value obj, Field f) const;
  std::optional<uint32_t> OptU32(napi_value obj, Field f) const;
  int32_t I32(napi_value obj, Field f) const;
  std::optional<int32_t> OptI32(napi_value obj, Field f) const;
  std::optional<uint64_t> OptU64(napi_value obj, Field f) const;
  bool OptBool(napi_value obj, Field f) const;
  std::string String(napi_value obj, Field f) const;
  std::optional<std::string> OptString(napi_value obj, Field f) const;
  // Compares a short string property without allocating.
  bool StringEquals(napi_value value, const char* literal) const;
  // A view of a Uint8Array property's bytes (valid while the object is alive).
  std::pair<const uint8_t*, size_t> Bytes(napi_value obj, Field f) const;
  std::optional<std::pair<const uint8_t*, size_t>> OptBytes(napi_value obj, Field f) const;
  // Reads a short string value (e.g. an op or kind tag) into a fixed buffer.
  std::string_view Tag(napi_value obj, Field f, char (&buf)[32]) const;

  // Conversions of an already fetched (non-null) value.
  uint32_t ToU32(napi_value v, Field f) const;
  int32_t ToI32(napi_value v, Field f) const;
  uint64_t ToU64(napi_value v, Field f) const;
  std::string ToString(napi_value v, Field f) const;
  std::pair<const uint8_t*, size_t> ToBytes(napi_value v, Field f) const;

  static const char* Name(Field f);

 private:
  double Number(napi_value v, Field f) const;

  napi_env env_;
  napi_value keys_[static_cast<size_t>(Field::count_)];
};

}  // namespace kpt
