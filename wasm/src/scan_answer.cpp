// See scan_answer.h.
#include "scan_answer.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "replicore/value.h"
#include "replicore/size_optimized.h"

REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::wasm {

void ScanAnswer::packInto(std::string& out) const {
  // The pieces' ends, from the values' sizes, before anything is written.
  std::vector<uint32_t> ends;
  size_t at = 0, pieceStart = 0;
  char digits[24];
  for (const Value* v : values) {
    size_t entry = size_t(idDigits(v->id(), digits)) + 1 + v->text().size();
    if (at > pieceStart && at + entry + 1 - pieceStart > kPieceBytes) {
      ends.push_back(uint32_t(++at));  // the closing bracket
      pieceStart = at;
    }
    at += 1 + entry;  // '[' or ',', then the entry
  }
  if (at > pieceStart) ends.push_back(uint32_t(++at));
  const size_t valueBytes = at;
  const size_t endsBytes = (ends.size() + (ends.size() & 1)) * sizeof(uint32_t);
  const uint32_t header[6] = {uint32_t(ids.size()), uint32_t(keys.size()), uint32_t(valueBytes),
                              nul ? 1u : 0u, uint32_t(ends.size()), 0};
  out.clear();
  out.reserve(sizeof header + endsBytes + ids.size() * sizeof(double) + keys.size() + valueBytes);
  out.append(reinterpret_cast<const char*>(header), sizeof header);
  out.append(reinterpret_cast<const char*>(ends.data()), ends.size() * sizeof(uint32_t));
  if (ends.size() & 1) out.append(sizeof(uint32_t), '\0');
  out.append(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(double));
  out += keys;
  const size_t valuesAt = out.size();
  size_t piece = 0;
  bool first = true;
  for (const Value* v : values) {
    out += first ? '[' : ',';
    first = false;
    out.append(digits, size_t(idDigits(v->id(), digits)));
    out += ',';
    out += v->text();
    // The same rule as above closes the piece at the same place.
    if (out.size() - valuesAt + 1 == ends[piece]) {
      out += ']';
      ++piece;
      first = true;
    }
  }
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
