// Petrel's native helper: two socket operations Node's net module cannot do.
//
// TCP_QUICKACK (set, get). A client that sends a synchronizing literal and
// then the CRLF ending its command as two writes, without TCP_NODELAY
// (Python's imaplib), holds the CRLF back (Nagle) until the literal is
// acknowledged, and Linux delays that acknowledgement by up to 40 ms on an
// interactive connection. Setting TCP_QUICKACK after each write takes the
// connection out of that mode, as Dovecot does.
//
// Draining a listening socket's accept queue (acceptPending). Node's libuv
// accepts one connection per event-loop turn on a listening socket (it
// relies on level-triggered polling to come back for the next one), so under
// a busy loop a burst of N new connections waits N long turns for its
// greetings. After Node has accepted one, Petrel takes the others that are
// already queued at once (src/util/accept-backlog.ts).
//
// Linux only; elsewhere set() answers false, get() -1, acceptPending() [].

#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* accept4; before any system header */
#endif
#include <node_api.h>
#if defined(__linux__)
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
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

/* Accepting at most this many at once, whatever the caller asks. */
#define ACCEPT_PENDING_MAX 4096

/*
 * acceptPending(listenFd: number, max: number): number[] — the descriptors of
 * up to `max` connections waiting in the listening socket's accept queue,
 * each non-blocking and close-on-exec as libuv's own accept makes them; []
 * when none is waiting. Stops at the first error other than ECONNABORTED (a
 * connection reset while queued: skipped) and EINTR (retried): EAGAIN (the
 * queue is empty), EMFILE/ENFILE (out of descriptors: libuv's own accept
 * handles that), EINVAL/ENOTSOCK/EBADF (not a listening socket). [] for a
 * blocking descriptor (libuv's are not), on which accept() would wait. The caller
 * owns the descriptors: it must open or close every one.
 */
static napi_value AcceptPending(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1;
  int32_t max = 0;
  napi_value result;
  if (napi_create_array(env, &result) != napi_ok) return NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &max) != napi_ok ||
      fd < 0 || max <= 0)
    return result;
#if defined(__linux__)
  if (max > ACCEPT_PENDING_MAX) max = ACCEPT_PENDING_MAX;
  /* On a blocking socket accept() would wait for a connection: never. */
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || !(flags & O_NONBLOCK)) return result;
  uint32_t n = 0;
  while (n < (uint32_t)max) {
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      break;
    }
    napi_value v;
    if (napi_create_int32(env, c, &v) != napi_ok || napi_set_element(env, result, n, v) != napi_ok) {
      /* Not handed back: the caller could neither use nor close it. */
      close(c);
      break;
    }
    n++;
  }
#endif
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"set", NULL, Set, NULL, NULL, NULL, napi_default, NULL},
      {"get", NULL, Get, NULL, NULL, NULL, napi_default, NULL},
      {"acceptPending", NULL, AcceptPending, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
