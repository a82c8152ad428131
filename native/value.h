// A small tree of plain values (numbers, strings, bytes, arrays, objects).
//
// Replies are parsed on a libuv worker thread, where no N-API call is allowed; the parser builds a
// Value tree there and the main thread converts it to JavaScript objects in one pass (OnOK).
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kpt {

class Value {
 public:
  enum class Kind { Undefined, Null, Bool, Number, BigInt, String, Bytes, Array, Object };

  Value() = default;
  static Value Null() { return Value(Kind::Null); }
  static Value Bool(bool b) {
    Value v(Kind::Bool);
    v.num_ = b ? 1 : 0;
    return v;
  }
  static Value Number(double n) {
    Value v(Kind::Number);
    v.num_ = n;
    return v;
  }
  // 64-bit quantities (handles, counters, timeouts in ms) cross as BigInt to stay exact.
  static Value BigU64(uint64_t n) {
    Value v(Kind::BigInt);
    v.big_ = n;
    return v;
  }
  static Value Str(std::string s) {
    Value v(Kind::String);
    v.str_ = std::move(s);
    return v;
  }
  static Value Bytes(const uint8_t* data, size_t len) {
    Value v(Kind::Bytes);
    v.bytes_.assign(data, data + len);
    return v;
  }
  static Value Bytes(std::vector<uint8_t> b) {
    Value v(Kind::Bytes);
    v.bytes_ = std::move(b);
    return v;
  }
  static Value Array() { return Value(Kind::Array); }
  static Value Object() { return Value(Kind::Object); }

  Value& Set(std::string key, Value v) {
    fields_.emplace_back(std::move(key), std::move(v));
    return fields_.back().second;
  }
  Value& Push(Value v) {
    items_.push_back(std::move(v));
    return items_.back();
  }
  Kind kind() const { return kind_; }
  size_t Length() const { return items_.size(); }

  Napi::Value ToJs(Napi::Env env) const;

 private:
  explicit Value(Kind k) : kind_(k) {}

  Kind kind_ = Kind::Undefined;
  double num_ = 0;
  uint64_t big_ = 0;
  std::string str_;
  std::vector<uint8_t> bytes_;
  std::vector<Value> items_;
  std::vector<std::pair<std::string, Value>> fields_;
};

}  // namespace kpt
