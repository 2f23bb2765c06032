#!/usr/bin/env bash
# Regenerate visit.ogg from script.txt: a fictional primary-care visit (no real patient).
# Dev tool; the .ogg is committed, so neither CI nor users need any of this.
#
# Voices: MBROLA diphone voices through espeak-ng, because Whisper hears them far better than
# espeak's formant voices (the demo must show the product, not a speech-recognition failure):
# the doctor is us2 (male), the patient us1 (female), both slower than espeak's default 175 wpm.
# script.txt writes numbers as Whisper writes them ("38.5", "400 milligrams") so that WER
# against it measures mishearing, not spelling; espeak-ng reads the digits aloud.
#
# Needs Debian espeak-ng, sox and mbrola with mbrola-us1 and mbrola-us2 (contrib/non-free:
# add "contrib non-free" to the apt sources first). Deterministic: the same packages give the
# same audio samples (the OGG container's random stream serial number differs from run to run).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for v in us1 us3; do
  if [[ ! -e "/usr/share/mbrola/$v" ]]; then
    echo "make_sample.sh: MBROLA voice $v missing: apt-get install mbrola mbrola-$v" >&2
    exit 1
  fi
done

doctor_voice=(-v mb-us3 -s 125)
patient_voice=(-v mb-us1 -s 125)
rate=16000

n=0
parts=()
previous=""
while IFS= read -r line; do
  [[ -z "$line" ]] && continue
  role="${line%%]*}"; role="${role#[}"
  text="${line#*] }"
  n=$((n + 1))
  case "$role" in
    doctor)  voice=("${doctor_voice[@]}") ;;
    patient) voice=("${patient_voice[@]}") ;;
    *) echo "make_sample.sh: unknown speaker in: $line" >&2; exit 1 ;;
  esac
  # A longer pause before a change of speaker, as in a real exchange; both are long enough
  # for the app's voice-activity windows to cut between turns.
  gap=0.6
  [[ -n "$previous" && "$role" != "$previous" ]] && gap=0.9
  previous="$role"
  # mbrola prints harmless "unknown diphone" warnings for some phoneme pairs.
  espeak-ng "${voice[@]}" -w "$work/raw$n.wav" "$text" 2> "$work/espeak$n.log"
  sox -n -r "$rate" -c 1 -b 16 "$work/gap$n.wav" trim 0 "$gap"
  # 16 kHz mono, each turn at the same peak level whatever the voice.
  sox "$work/raw$n.wav" -r "$rate" -c 1 -b 16 "$work/utt$n.wav" gain -n -3
  parts+=("$work/gap$n.wav" "$work/utt$n.wav")
done < "$here/script.txt"

sox -n -r "$rate" -c 1 -b 16 "$work/tail.wav" trim 0 1.0
sox "${parts[@]}" "$work/tail.wav" -C 3 "$here/visit.ogg"
soxi -D "$here/visit.ogg" | xargs printf 'visit.ogg: %.1f s\n'
