// Promise-returning workers: the blocking netlink exchange runs on a libuv pool thread, the
// result is converted to JavaScript on the main thread.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "errors.h"
#include "value.h"

namespace kpt {

// Runs `work` off the JavaScript thread and settles a Promise with its Value (or its error).
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Value()>;

  static Napi::Promise Start(Napi::Env env, const char* name, Work work) {
    auto* worker = new PromiseWorker(env, name, std::move(work));
    auto promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  PromiseWorker(Napi::Env env, const char* name, Work work)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)) {}

  Napi::Promise::Deferred deferred_;
  Work work_;
  Value result_;
  std::optional<NetlinkFailure> failure_;
  bool parse_error_ = false;
};

// Converts a failure into a JavaScript Error with errno/code/extack/opIndex properties.
Napi::Error MakeJsError(Napi::Env env, const NetlinkFailure& failure);

// Argument helpers (main thread). They throw Napi::TypeError with the property name on bad input.
std::string NetnsArg(const Napi::Value& options);
Napi::Object ObjectArg(const Napi::CallbackInfo& info, size_t index, const char* what);
std::string StringProp(const Napi::Object& obj, const char* key);
std::optional<std::string> OptStringProp(const Napi::Object& obj, const char* key);
uint32_t U32Prop(const Napi::Object& obj, const char* key);
std::optional<uint32_t> OptU32Prop(const Napi::Object& obj, const char* key);
int32_t I32Prop(const Napi::Object& obj, const char* key);
std::optional<uint64_t> OptU64Prop(const Napi::Object& obj, const char* key);
bool OptBoolProp(const Napi::Object& obj, const char* key, bool fallback);
// Bytes from a Uint8Array / Buffer property.
std::vector<uint8_t> BytesProp(const Napi::Object& obj, const char* key);
std::optional<std::vector<uint8_t>> OptBytesProp(const Napi::Object& obj, const char* key);

}  // namespace kpt
