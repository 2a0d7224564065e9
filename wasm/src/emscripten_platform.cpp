#include "emscripten_platform.h"

#include <emscripten/emmalloc.h>
#include <emscripten/emscripten.h>
#include <emscripten/eventloop.h>
#include <emscripten/fetch.h>
#include <emscripten/websocket.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "replicore/size_optimized.h"

// Size over speed in the WebAssembly package (replicore/size_optimized.h).
REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::wasm {

bool heapCanHold(size_t bytes) {
  if (bytes > SIZE_MAX - 64) return false;
  // Volatile: the compiler may otherwise drop a malloc whose block is only
  // freed, and take it as succeeded. malloc returns null when the heap
  // cannot grow enough (ALLOW_MEMORY_GROWTH).
  void* volatile probe = std::malloc(bytes + 64);
  bool held = probe != nullptr;
  std::free(probe);
  return held;
}

size_t heapBytesLeft() { return emmalloc_free_dynamic_memory() + emmalloc_unclaimed_heap_memory(); }

// ---------------------------------------------------------------- EmClock --

namespace {
// A heap token handed to emscripten_set_timeout: identifies the timer
// without pointing into the clock, which may be gone when it fires. Freed
// by the timer when it fires, or by the clock when it clears the JS timer.
struct TimerToken {
  std::weak_ptr<EmClock*> clock;
  uint64_t id;
};
}  // namespace

struct EmClock::Timer {
  long jsID = 0;
  TimerToken* token = nullptr;
  std::function<void()> fn;
};

EmClock::EmClock() : self_(std::make_shared<EmClock*>(this)) {}

EmClock::~EmClock() { cancelAll(); }

double EmClock::nowMs() { return emscripten_get_now(); }

uint64_t EmClock::setTimeout(double delayMs, std::function<void()> fn) {
  uint64_t id = nextID_++;
  auto timer = std::make_unique<Timer>();
  timer->fn = std::move(fn);
  auto* token = new TimerToken{self_, id};
  timer->token = token;
  timer->jsID = emscripten_set_timeout(&EmClock::fire, std::max(0.0, delayMs), token);
  timers_[id] = std::move(timer);
  return id;
}

void EmClock::fire(void* userData) {
  std::unique_ptr<TimerToken> token(static_cast<TimerToken*>(userData));
  auto clock = token->clock.lock();
  if (!clock) return;  // the clock is gone
  EmClock* self = *clock;
  auto it = self->timers_.find(token->id);
  if (it == self->timers_.end()) return;  // cancelled
  std::function<void()> fn = std::move(it->second->fn);
  self->timers_.erase(it);
  fn();
}

void EmClock::cancelTimeout(uint64_t id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  emscripten_clear_timeout(it->second->jsID);  // it will never fire now
  delete it->second->token;
  timers_.erase(it);
}

void EmClock::cancelAll() {
  for (auto& [id, timer] : timers_) {
    emscripten_clear_timeout(timer->jsID);
    delete timer->token;
  }
  timers_.clear();
}

// ---------------------------------------------------------- FetchTransport --

struct FetchTransport::InFlight {
  std::weak_ptr<FetchTransport*> transport;
  std::string url;
  std::string body;  // must outlive the fetch (TOOLCHAIN.md #8)
  std::vector<std::string> headerStore;
  std::vector<const char*> headers;
  std::function<void(HttpResponse)> done;
};

FetchTransport::FetchTransport() : self_(std::make_shared<FetchTransport*>(this)) {}
FetchTransport::~FetchTransport() = default;

void FetchTransport::post(HttpRequest request, std::function<void(HttpResponse)> done) {
  auto* f = new InFlight;
  f->transport = self_;
  f->url = std::move(request.url);
  f->body = std::move(request.body);
  f->done = std::move(done);
  for (auto& [k, v] : request.headers) {
    f->headerStore.push_back(k);
    f->headerStore.push_back(v);
  }
  for (auto& s : f->headerStore) f->headers.push_back(s.c_str());
  f->headers.push_back(nullptr);

  emscripten_fetch_attr_t attr;
  emscripten_fetch_attr_init(&attr);
  std::strcpy(attr.requestMethod, "POST");
  attr.attributes = EMSCRIPTEN_FETCH_LOAD_TO_MEMORY | EMSCRIPTEN_FETCH_REPLACE;
  attr.requestHeaders = f->headers.data();
  attr.requestData = f->body.data();
  attr.requestDataSize = f->body.size();
  attr.userData = f;
  attr.onsuccess = &FetchTransport::onSuccess;
  attr.onerror = &FetchTransport::onError;
  emscripten_fetch(&attr, f->url.c_str());
}

void FetchTransport::onSuccess(emscripten_fetch_t* fetch) { complete(fetch, true); }
void FetchTransport::onError(emscripten_fetch_t* fetch) { complete(fetch, false); }

void FetchTransport::complete(emscripten_fetch_t* fetch, bool ok) {
  std::unique_ptr<InFlight> f(static_cast<InFlight*>(fetch->userData));
  HttpResponse response;
  response.status = fetch->status;
  if (fetch->data && fetch->numBytes) {
    if (heapCanHold(size_t(fetch->numBytes))) {
      response.body.assign(fetch->data, size_t(fetch->numBytes));
    } else {
      response.status = 0;
      response.networkError = "the response of " + std::to_string(fetch->numBytes) +
                              " bytes does not fit in the WebAssembly heap";
    }
  }
  if (response.status == 0) {
    if (response.networkError.empty())
      response.networkError = fetch->statusText[0] ? fetch->statusText : "network error";
    response.body.clear();
  }
  (void)ok;  // the status says it all: 2xx success, other HTTP errors, 0 network
  emscripten_fetch_close(fetch);
  if (f->transport.expired()) return;
  auto done = std::move(f->done);
  f.reset();
  done(std::move(response));
}

// --------------------------------------------------------------- PokeSocket --

PokeSocket::PokeSocket(std::string url, Clock* clock, std::function<void()> onPoke,
                       std::function<void()> onOpen)
    : url_(std::move(url)), clock_(clock), onPoke_(std::move(onPoke)), onOpen_(std::move(onOpen)) {}

PokeSocket::~PokeSocket() { stop(); }

void PokeSocket::start() {
  if (!stopped_) return;
  stopped_ = false;
  backoffMs_ = 100;
  connect();
}

void PokeSocket::stop() {
  stopped_ = true;
  if (reconnectTimer_) {
    clock_->cancelTimeout(reconnectTimer_);
    reconnectTimer_ = 0;
  }
  dropSocket();
}

void PokeSocket::dropSocket() {
  if (socket_ > 0) {
    unsigned short state = 0;
    emscripten_websocket_get_ready_state(socket_, &state);
    if (state == 0 || state == 1) emscripten_websocket_close(socket_, 1000, "closed");
    emscripten_websocket_delete(socket_);  // also detaches our callbacks
  }
  socket_ = 0;
  open_ = false;
}

void PokeSocket::connect() {
  reconnectTimer_ = 0;
  if (stopped_) return;
  if (!emscripten_websocket_is_supported()) return;  // no WebSocket: pokes off
  EmscriptenWebSocketCreateAttributes attrs;
  emscripten_websocket_init_create_attributes(&attrs);
  attrs.url = url_.c_str();
  attrs.protocols = nullptr;
  int s = emscripten_websocket_new(&attrs);
  if (s <= 0) {
    scheduleReconnect();
    return;
  }
  socket_ = s;
  emscripten_websocket_set_onopen_callback(s, this, reinterpret_cast<em_websocket_open_callback_func>(&PokeSocket::onOpenCb));
  emscripten_websocket_set_onmessage_callback(s, this, reinterpret_cast<em_websocket_message_callback_func>(&PokeSocket::onMessageCb));
  emscripten_websocket_set_onerror_callback(s, this, reinterpret_cast<em_websocket_error_callback_func>(&PokeSocket::onErrorCb));
  emscripten_websocket_set_onclose_callback(s, this, reinterpret_cast<em_websocket_close_callback_func>(&PokeSocket::onCloseCb));
}

void PokeSocket::scheduleReconnect() {
  if (stopped_ || reconnectTimer_) return;
  double delay = backoffMs_;
  backoffMs_ = std::min(backoffMs_ * 2, 30000.0);
  reconnectTimer_ = clock_->setTimeout(delay, [this] { connect(); });
}

int PokeSocket::onOpenCb(int, const void*, void* user) {
  auto* self = static_cast<PokeSocket*>(user);
  self->open_ = true;
  self->backoffMs_ = 100;
  if (self->onOpen_) self->onOpen_();
  return 1;
}

int PokeSocket::onMessageCb(int, const void*, void* user) {
  auto* self = static_cast<PokeSocket*>(user);
  // Any message is a poke; its content does not matter.
  if (self->onPoke_) self->onPoke_();
  return 1;
}

int PokeSocket::onErrorCb(int, const void*, void* user) {
  // A close event follows an error; reconnect from there. Some
  // environments skip the close after a failed connect, so also drop here.
  auto* self = static_cast<PokeSocket*>(user);
  self->dropSocket();
  self->scheduleReconnect();
  return 1;
}

int PokeSocket::onCloseCb(int, const void*, void* user) {
  auto* self = static_cast<PokeSocket*>(user);
  self->dropSocket();
  self->scheduleReconnect();
  return 1;
}

}  // namespace replicore::wasm

REPLICORE_SIZE_OPTIMIZED_END
