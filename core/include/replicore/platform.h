// The platform interfaces the core talks through. The core never does I/O
// itself: a host (the native tests, the WebAssembly glue) supplies a clock,
// an HTTP transport and pokes, so every sync rule runs deterministically in
// native tests.
#ifndef REPLICORE_PLATFORM_H_
#define REPLICORE_PLATFORM_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace replicore {

// Time and timers. Callbacks run later, on the same thread, never from
// inside setTimeout itself.
class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since an arbitrary origin; never decreases.
  virtual double nowMs() = 0;
  // Runs `fn` once after `delayMs`; returns an id for cancelTimeout (never 0).
  virtual uint64_t setTimeout(double delayMs, std::function<void()> fn) = 0;
  // Cancels a timer that has not run yet; unknown ids are ignored.
  virtual void cancelTimeout(uint64_t id) = 0;
};

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  // The HTTP status, or 0 when the request failed at the network level (no
  // connection, reset, timeout) with `networkError` saying why.
  int status = 0;
  std::string body;
  std::string networkError;
};

// Sends HTTP POSTs. `done` is called exactly once, later, on the same thread.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual void post(HttpRequest request, std::function<void(HttpResponse)> done) = 0;
};

}  // namespace replicore

#endif  // REPLICORE_PLATFORM_H_
