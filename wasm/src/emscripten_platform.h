// The core's platform interfaces (replicore/platform.h) implemented with
// Emscripten's browser APIs: timers, emscripten_fetch for HTTP, and
// emscripten/websocket.h for pokes. Single-threaded: every callback runs on
// the JS event loop, never re-entrantly from the call that scheduled it.
#ifndef REPLICORE_WASM_EMSCRIPTEN_PLATFORM_H_
#define REPLICORE_WASM_EMSCRIPTEN_PLATFORM_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "replicore/platform.h"

struct emscripten_fetch_t;

namespace replicore::wasm {

// Whether the heap can hold `bytes` more in one piece (and a string's
// rounding): a probe given back at once, which grows the heap as the
// allocation that follows would. The package is built without C++
// exceptions, where a failed allocation stops the module, so a size that
// comes from outside (a body) is checked before it is allocated.
bool heapCanHold(size_t bytes);

// Bytes of memory the heap could still hand out: what is free inside it
// plus what it can grow by (approximate: free memory may be fragmented).
size_t heapBytesLeft();

// Clock on performance.now() and setTimeout.
class EmClock : public Clock {
 public:
  EmClock();
  ~EmClock() override;
  double nowMs() override;
  uint64_t setTimeout(double delayMs, std::function<void()> fn) override;
  void cancelTimeout(uint64_t id) override;
  // Cancels every timer (used when the client closes).
  void cancelAll();

 private:
  struct Timer;
  static void fire(void* userData);
  uint64_t nextID_ = 1;
  std::map<uint64_t, std::unique_ptr<Timer>> timers_;
  // Shared with the heap-allocated tokens given to setTimeout, so a timer
  // that fires after this clock is gone does nothing.
  std::shared_ptr<EmClock*> self_;
};

// HTTP POST through emscripten_fetch (XMLHttpRequest underneath). A request
// still out when the transport is destroyed completes into nothing.
class FetchTransport : public HttpTransport {
 public:
  FetchTransport();
  ~FetchTransport() override;
  void post(HttpRequest request, std::function<void(HttpResponse)> done) override;

 private:
  struct InFlight;
  static void onSuccess(::emscripten_fetch_t* fetch);
  static void onError(::emscripten_fetch_t* fetch);
  static void complete(::emscripten_fetch_t* fetch, bool ok);
  std::shared_ptr<FetchTransport*> self_;
};

// A poke source: a WebSocket to `url` whose every message is a poke. When
// the socket closes or fails it reconnects after a backoff (100 ms doubling
// to 30 s, reset once a connection opens). `onOpen` runs on each successful
// (re)connect, so the owner can pull for pokes it may have missed.
class PokeSocket {
 public:
  PokeSocket(std::string url, Clock* clock, std::function<void()> onPoke,
             std::function<void()> onOpen);
  ~PokeSocket();
  void start();
  void stop();
  bool connected() const { return open_; }

 private:
  void connect();
  void scheduleReconnect();
  void dropSocket();
  static int onOpenCb(int, const void*, void* user);
  static int onMessageCb(int, const void*, void* user);
  static int onErrorCb(int, const void*, void* user);
  static int onCloseCb(int, const void*, void* user);

  std::string url_;
  Clock* clock_;
  std::function<void()> onPoke_;
  std::function<void()> onOpen_;
  int socket_ = 0;
  bool open_ = false;
  bool stopped_ = true;
  double backoffMs_ = 100;
  uint64_t reconnectTimer_ = 0;
};

}  // namespace replicore::wasm

#endif  // REPLICORE_WASM_EMSCRIPTEN_PLATFORM_H_
