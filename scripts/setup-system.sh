#!/usr/bin/env bash
# Installs the Debian packages the PDF writer needs, only those missing. Idempotent and quick
# when everything is there. Runs apt-get with sudo when not root.
#   libpango-1.0-0, libpangoft2-1.0-0  WeasyPrint's text layout
#   libharfbuzz-subset0                font subsetting; without it WeasyPrint silently falls
#                                      back to fontTools, ~100x slower on CJK fonts
#   texlive-lang-chinese               the Fandol fonts (Song, Fang, Hei, Kai) embedded in PDFs
# With --test, also what the tests use as real clients (never the product itself):
#   libreoffice-writer-nogui           lays out our DOCX as office software does (page breaks)
#   libreoffice-calc-nogui             saves filled workbooks again, as a region's office would
#   fonts-liberation2                  Times New Roman's metrics, so LibreOffice sets digits as Word
#   chromium                           the browser the web page's test drives (Playwright, no download)
#   chromium-l10n                      its Chinese interface (选择文件, dates as 年/月/日), as a clerk sees it
#   poppler-utils                      pdftoppm, to compare filled and fully laid-out pages as images
#   npm                                installs the tests' second OFD reader, ofd.js (tests/ofdjs);
#                                      only when no npm is on the PATH (a Node.js build may bring its own)
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 texlive-lang-chinese)
if [ "${1:-}" = "--test" ]; then
  packages+=(libreoffice-writer-nogui libreoffice-calc-nogui fonts-liberation2 chromium chromium-l10n poppler-utils)
  command -v npm >/dev/null || packages+=(npm)
fi
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "缺少系统软件包：${missing[*]}。本机没有 apt-get，请用系统的包管理器安装对应软件包。" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "安装系统软件包：${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}"; then
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
