// A fake HttpTransport: records every request and answers only when the test
// says so (respond()), or through a scripted responder whose answers arrive
// later through the fake clock.
#ifndef REPLICORE_TESTS_FAKE_TRANSPORT_H_
#define REPLICORE_TESTS_FAKE_TRANSPORT_H_

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "replicore/platform.h"
#include "replicore/value.h"

namespace replicore::testing {

struct SentRequest {
  HttpRequest request;
  std::function<void(HttpResponse)> done;
  double sentAtMs = 0;
  bool answered = false;

  // The value of header `name` (exact, case-sensitive), or nullopt.
  std::optional<std::string> header(const std::string& name) const {
    for (const auto& [k, v] : request.headers)
      if (k == name) return v;
    return std::nullopt;
  }
  int headerCount(const std::string& name) const {
    int n = 0;
    for (const auto& kv : request.headers) n += kv.first == name;
    return n;
  }
  Json json() const { return Json::parse(request.body); }
};

class FakeTransport : public HttpTransport {
 public:
  // Scripted mode: when set, each request is passed to the responder; a
  // response it returns is delivered through `clock` after `latencyMs`.
  using Responder = std::function<std::optional<HttpResponse>(const HttpRequest&)>;

  explicit FakeTransport(Clock* clock = nullptr) : clock_(clock) {}

  void setResponder(Responder responder, double latencyMs = 0) {
    responder_ = std::move(responder);
    latencyMs_ = latencyMs;
  }

  void post(HttpRequest request, std::function<void(HttpResponse)> done) override {
    auto sent = std::make_shared<SentRequest>();
    sent->request = std::move(request);
    sent->done = std::move(done);
    sent->sentAtMs = clock_ ? clock_->nowMs() : 0;
    sent_.push_back(sent);
    if (responder_) {
      std::optional<HttpResponse> r = responder_(sent->request);
      if (r) {
        if (!clock_) throw std::logic_error("scripted responses need a clock");
        size_t index = sent_.size() - 1;
        HttpResponse response = *r;
        clock_->setTimeout(latencyMs_, [this, index, response] {
          if (!sent_[index]->answered) respond(index, response);
        });
      }
    }
  }

  size_t count() const { return sent_.size(); }
  SentRequest& at(size_t i) { return *sent_.at(i); }
  SentRequest& last() { return *sent_.at(sent_.size() - 1); }

  // Requests (indices) whose URL contains `part` and that are unanswered.
  std::vector<size_t> open(const std::string& part = "") const {
    std::vector<size_t> out;
    for (size_t i = 0; i < sent_.size(); ++i)
      if (!sent_[i]->answered && sent_[i]->request.url.find(part) != std::string::npos)
        out.push_back(i);
    return out;
  }
  size_t countURL(const std::string& part) const {
    size_t n = 0;
    for (const auto& s : sent_) n += s->request.url.find(part) != std::string::npos;
    return n;
  }

  void respond(size_t i, HttpResponse response) {
    SentRequest& s = *sent_.at(i);
    if (s.answered) throw std::logic_error("request answered twice");
    s.answered = true;
    auto done = std::move(s.done);
    done(std::move(response));
  }
  void respond(size_t i, int status, std::string body = "") {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    if (status == 0) r.networkError = "connection refused";
    respond(i, std::move(r));
  }
  // Answers the only open request whose URL contains `part`.
  void respondOpen(const std::string& part, int status, std::string body = "") {
    auto o = open(part);
    if (o.size() != 1)
      throw std::logic_error("expected exactly one open request to " + part + ", got " +
                             std::to_string(o.size()));
    respond(o[0], status, std::move(body));
  }

 private:
  Clock* clock_;
  Responder responder_;
  double latencyMs_ = 0;
  std::vector<std::shared_ptr<SentRequest>> sent_;
};

}  // namespace replicore::testing

#endif  // REPLICORE_TESTS_FAKE_TRANSPORT_H_
