// ScanAnswer: a scan's answer for JavaScript, collected as the scan visits
// its entries, then laid out for JS (wasm/js/scan-buffer.js, unpackScan) in
// one buffer written once, at its final size, into the caller's reused
// string (a cold full scan of 10 MB of values in one pass: no buffer
// doubling, no second copy):
//   uint32 n, keyBytes, valueBytes, flags, pieces, 0     (24 bytes)
//   uint32 end of each piece within the values           (padded to 8 bytes)
//   n float64 value ids                                  (no JSON for the ids)
//   keyBytes of UTF-8: the keys joined by NUL            (JS splits; if a key
//                      holds a NUL, flags bit 0 and a JSON array instead)
//   valueBytes of UTF-8: pieces, each a JSON array [id, value, ...] of the
//                      values JS has not cached (none: the warm case)
// Header flags: 1 keys as JSON (above), 2 missed (see Core::get: nothing
// else is sent; read missedKeys() and scan again).
//
// Primary scans and index scans (Core::scan, Core::scanIndex) both answer
// with it. It does not own the values it lists: they must stay alive until
// packInto returns (the scanned state holds them during the call).
#ifndef REPLICORE_WASM_SCAN_ANSWER_H_
#define REPLICORE_WASM_SCAN_ANSWER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "replicore/size_optimized.h"

REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore {

class Value;

namespace wasm {

class ScanAnswer {
 public:
  // The values go out in pieces of about this size, each decoded and
  // parsed by itself: TextDecoder and JSON.parse of one text of megabytes
  // are an order of magnitude slower than of the same bytes in pieces of
  // tens of KiB in Chromium (10 MB: 34 ms whole, 3.3 ms in 64 KiB pieces)
  // and Firefox (193 ms, 14 ms), while WebKit's per-call cost makes pieces
  // much smaller than this slow there (16 KiB: 42 ms, 64 KiB: 6.7 ms).
  static constexpr size_t kPieceBytes = 64 * 1024;

  std::string keys;
  bool nul = false;  // a key holds a NUL: keys must be sent as JSON
  std::vector<double> ids;
  std::vector<const Value*> values;  // owned by the scanned state, alive during the call

  void addKey(const std::string& key) {
    if (!ids.empty()) keys += '\0';
    if (!nul && key.find('\0') != std::string::npos) nul = true;
    keys += key;
  }

  // The answer "a page this scan needs is not read yet".
  static void packMissed(std::string& out) {
    const uint32_t header[6] = {0, 0, 0, 2, 0, 0};
    out.assign(reinterpret_cast<const char*>(header), sizeof header);
  }

  void packInto(std::string& out) const;

 private:
  // Writes `id` in decimal to `out`; returns how many digits.
  static int idDigits(uint64_t id, char* out);
};

}  // namespace wasm
}  // namespace replicore

REPLICORE_SIZE_OPTIMIZED_END

#endif  // REPLICORE_WASM_SCAN_ANSWER_H_
