// Entry point of the kpt_netlink addon: registers each netlink family's functions.
#include <napi.h>

#include "conntrack.h"
#include "ipvs.h"
#include "nftables.h"
#include "rtnetlink.h"
#include "test_parse.h"

namespace {

// Bumped whenever the JavaScript-visible surface changes; src/kernel/netlink.ts checks it.
constexpr int kAbiVersion = 3;

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  kpt::RegisterNftables(env, exports);
  kpt::RegisterRtnetlink(env, exports);
  kpt::RegisterIpvs(env, exports);
  kpt::RegisterConntrack(env, exports);
  kpt::RegisterTestParse(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(kpt_netlink, Init)
