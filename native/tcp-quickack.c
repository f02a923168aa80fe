// TCP_QUICKACK for Node sockets, which Node's net module cannot set.
//
// A client that sends a synchronizing literal and then the CRLF ending its
// command as two writes, without TCP_NODELAY (Python's imaplib), holds the
// CRLF back (Nagle) until the literal is acknowledged, and Linux delays that
// acknowledgement by up to 40 ms on an interactive connection. Setting
// TCP_QUICKACK after each write takes the connection out of that mode, as
// Dovecot does. Linux only; elsewhere set() answers false.

#include <node_api.h>
#if defined(__linux__)
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#endif

/* set(fd: number): boolean — true when the option was set. */
static napi_value Set(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  bool ok = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1 &&
      napi_get_value_int32(env, argv[0], &fd) == napi_ok && fd >= 0) {
#if defined(__linux__)
    int one = 1;
    ok = setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one) == 0;
#endif
  }
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

/* get(fd: number): number — the option's value (tests), or -1. */
static napi_value Get(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  int32_t value = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1 &&
      napi_get_value_int32(env, argv[0], &fd) == napi_ok && fd >= 0) {
#if defined(__linux__)
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &v, &len) == 0) value = v;
#endif
  }
  napi_value result;
  napi_create_int32(env, value, &result);
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"set", NULL, Set, NULL, NULL, NULL, napi_default, NULL},
      {"get", NULL, Get, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
