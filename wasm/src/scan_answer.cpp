// See scan_answer.h.
#include "scan_answer.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "replicore/size_optimized.h"

REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::wasm {

bool ScanAnswer::packInto(std::string& out) {
  // The pieces' ends, from the values' sizes, before anything is written.
  ends_.clear();
  size_t at = 0, pieceStart = 0;
  char digits[24];
  for (const ValuePtr& v : values) {
    size_t entry = size_t(idDigits(v->id(), digits)) + 1 + v->text().size();
    if (at > pieceStart && at + entry + 1 - pieceStart > kPieceBytes) {
      ends_.push_back(uint32_t(++at));  // the closing bracket
      pieceStart = at;
    }
    at += 1 + entry;  // '[' or ',', then the entry
  }
  if (at > pieceStart) ends_.push_back(uint32_t(++at));
  piece_ = value_ = 0;
  // How many pieces the first buffer carries.
  const size_t here = ends_.empty() ? 0 : lastPieceOfBuffer(0) + 1;
  const size_t endsBytes = (ends_.size() + (ends_.size() & 1)) * sizeof(uint32_t);
  const uint32_t header[6] = {uint32_t(ids.size()), uint32_t(keys.size()), uint32_t(at), nul ? 1u : 0u,
                              uint32_t(ends_.size()), uint32_t(here)};
  out.clear();
  out.reserve(sizeof header + endsBytes + ids.size() * sizeof(double) + keys.size() + (here ? ends_[here - 1] : 0));
  out.append(reinterpret_cast<const char*>(header), sizeof header);
  out.append(reinterpret_cast<const char*>(ends_.data()), ends_.size() * sizeof(uint32_t));
  if (ends_.size() & 1) out.append(sizeof(uint32_t), '\0');
  out.append(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(double));
  out += keys;
  return appendPieces(out);
}

bool ScanAnswer::packRest(std::string& out) {
  out.clear();
  return appendPieces(out);
}

bool ScanAnswer::appendPieces(std::string& out) {
  if (piece_ >= ends_.size()) return false;
  const size_t start = piece_ == 0 ? 0 : ends_[piece_ - 1];
  const size_t last = lastPieceOfBuffer(piece_);
  out.reserve(out.size() + (ends_[last] - start));
  char digits[24];
  const size_t valuesAt = out.size();
  bool first = true;
  while (piece_ <= last) {
    const ValuePtr& v = values[value_++];
    out += first ? '[' : ',';
    first = false;
    out.append(digits, size_t(idDigits(v->id(), digits)));
    out += ',';
    out += v->text();
    // The same rule as above closes the piece at the same place.
    if (start + (out.size() - valuesAt) + 1 == ends_[piece_]) {
      out += ']';
      ++piece_;
      first = true;
    }
  }
  if (piece_ < ends_.size()) return true;
  values.clear();  // all handed out: let them go
  return false;
}

size_t ScanAnswer::lastPieceOfBuffer(size_t first) const {
  const size_t start = first == 0 ? 0 : ends_[first - 1];
  size_t last = first;
  while (last + 1 < ends_.size() && ends_[last + 1] - start <= kBufferBytes) ++last;
  return last;
}

int ScanAnswer::idDigits(uint64_t id, char* out) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = char('0' + id % 10);
    id /= 10;
  } while (id);
  for (int i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  return n;
}

}  // namespace replicore::wasm

REPLICORE_SIZE_OPTIMIZED_END
