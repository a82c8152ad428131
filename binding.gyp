{
  "targets": [
    {
      "target_name": "kpt_netlink",
      "sources": [
        "native/addon.cc",
        "native/async.cc",
        "native/conntrack.cc",
        "native/genl.cc",
        "native/inet.cc",
        "native/ipvs.cc",
        "native/netns.cc",
        "native/nl_socket.cc",
        "native/nftables.cc",
        "native/nftables_expr.cc",
        "native/rtnetlink.cc",
        "native/test_parse.cc",
        "native/value.cc",
        "native/wire.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"]
    }
  ]
}
