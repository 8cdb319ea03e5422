#!/usr/bin/python3
# GDAL /vsicurl/ on the same random level-0 tiles (a peer of bench/suite.mjs):
# opens the slide's URL as a GeoTIFF (GDAL's GTiff driver reads the first
# directory, level 0 of an SVS) and reads each tile's 256x256 window with
# ReadRaster (GDAL fetches the TileOffsets/TileByteCounts entries and the tile
# through its /vsicurl/ block cache, then decodes the JPEG). Default GDAL
# configuration (CPL_VSIL_CURL_CHUNK_SIZE 16 KB, GDAL_HTTP_MULTIRANGE default,
# one process, one thread): what a GDAL user gets by default, one client.
# Requests and bytes are counted by the caller at the origin.
#
#   /usr/bin/python3 bench/peers/gdal-vsicurl.py URL TILES.json
# TILES.json: {"tiles": [[col, row], ...], "tile": 256}. Prints JSON: open ms, per-tile ms.
import json
import sys
import time

from osgeo import gdal

gdal.UseExceptions()
url, tiles_path = sys.argv[1], sys.argv[2]
spec = json.load(open(tiles_path))
size = spec.get("tile", 256)
gdal.SetConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")  # no directory listing of the origin
gdal.SetConfigOption("GDAL_CACHEMAX", "64")
t0 = time.perf_counter()
ds = gdal.Open("/vsicurl/" + url)
open_ms = (time.perf_counter() - t0) * 1000
times = []
for col, row in spec["tiles"]:
    t = time.perf_counter()
    ds.ReadRaster(col * size, row * size, size, size)
    times.append((time.perf_counter() - t) * 1000)
print(json.dumps({"openMs": open_ms, "tileMs": times, "width": ds.RasterXSize, "height": ds.RasterYSize, "gdal": gdal.__version__}))
