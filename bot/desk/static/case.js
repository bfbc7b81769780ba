// The case page's small map: one marker where the problem is (tiles from FIELDBOT_MAP_TILES).
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("map");
  if (!box || typeof L === "undefined") return;
  const at = [Number(box.dataset.lat), Number(box.dataset.lon)];
  const map = L.map(box).setView(at, 14);
  L.tileLayer(box.dataset.tiles, { attribution: box.dataset.attribution, maxZoom: 19 }).addTo(map);
  L.marker(at).addTo(map);
});
