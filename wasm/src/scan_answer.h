// ScanAnswer: a scan's answer for JavaScript, collected as the scan visits
// its entries, then laid out for JS (wasm/js/scan-buffer.js, unpackScan) in
// buffers written once each, at their final size, into the caller's reused
// string: the first holds
//   uint32 n, keyBytes, valueBytes, flags, pieces, piecesHere   (24 bytes)
//   uint32 end of each piece within the values           (padded to 8 bytes)
//   n float64 value ids                                  (no JSON for the ids)
//   keyBytes of UTF-8: the keys joined by NUL            (JS splits; if a key
//                      holds a NUL, flags bit 0 and a JSON array instead)
//   the first `piecesHere` pieces of the values: each a JSON array
//                      [id, value, ...] of values JS has not cached (none:
//                      the warm case)
// and when pieces remain, JS asks for them (Core::scanRest): each next
// buffer holds the next pieces, back to back, about kBufferBytes of them.
// So a cold scan of 100 MB of values crosses about a hundred times and
// needs one buffer of about 1 MB, reused, rather than a fresh 100 MB one:
// the wasm heap never shrinks, and touching fresh memory is most of what
// packing costs.
// Header flags: 1 keys as JSON (above), 2 missed (see Core::get: nothing
// else is sent; read missedKeys() and scan again).
//
// Primary scans and index scans (Core::scan, Core::scanIndex) both answer
// with it. It holds the values it lists until it has handed them all out.
#ifndef REPLICORE_WASM_SCAN_ANSWER_H_
#define REPLICORE_WASM_SCAN_ANSWER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "replicore/size_optimized.h"
#include "replicore/value.h"

REPLICORE_SIZE_OPTIMIZED_BEGIN

namespace replicore::wasm {

class ScanAnswer {
 public:
  // The values go out in pieces of about this size, each decoded and
  // parsed by itself: TextDecoder and JSON.parse of one text of megabytes
  // are an order of magnitude slower than of the same bytes in pieces of
  // tens of KiB in Chromium (10 MB: 34 ms whole, 3.3 ms in 64 KiB pieces)
  // and Firefox (193 ms, 14 ms), while WebKit's per-call cost makes pieces
  // much smaller than this slow there (16 KiB: 42 ms, 64 KiB: 6.7 ms).
  static constexpr size_t kPieceBytes = 64 * 1024;
  // The values a buffer carries at most (unless one piece is larger).
  static constexpr size_t kBufferBytes = 1024 * 1024;

  std::string keys;
  bool nul = false;  // a key holds a NUL: keys must be sent as JSON
  std::vector<double> ids;
  std::vector<ValuePtr> values;  // to send, in order

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

  // Writes the first buffer into `out`. Returns whether pieces remain
  // (then call packRest until it returns false).
  bool packInto(std::string& out);
  // Writes the next pieces into `out`; returns whether more remain.
  bool packRest(std::string& out);

 private:
  // Appends pieces from the next one on while they fit kBufferBytes (at
  // least one); returns whether more remain.
  bool appendPieces(std::string& out);
  // The last piece of the buffer that starts with piece `first`: as many
  // pieces as fit in kBufferBytes, and at least that one.
  size_t lastPieceOfBuffer(size_t first) const;
  // Writes `id` in decimal to `out`; returns how many digits.
  static int idDigits(uint64_t id, char* out);

  std::vector<uint32_t> ends_;  // each piece's end within the values
  size_t piece_ = 0;            // the next piece to hand out
  size_t value_ = 0;            // its first value
};

}  // namespace replicore::wasm

REPLICORE_SIZE_OPTIMIZED_END

#endif  // REPLICORE_WASM_SCAN_ANSWER_H_
