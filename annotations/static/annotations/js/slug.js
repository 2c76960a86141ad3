// Suggests a project's address (slug) from its name while the slug field has not been
// edited by hand. The server makes the same suggestion when the field is left empty.

export function slugify(name) {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9\s_-]/g, "")
    .trim()
    .replace(/[\s_-]+/g, "-")
    .slice(0, 100);
}

for (const form of document.querySelectorAll("form[data-slug-from]")) {
  const name = document.getElementById(form.dataset.slugFrom);
  const slug = document.getElementById(form.dataset.slugTo);
  let edited = slug.value !== "";
  slug.addEventListener("input", () => {
    edited = slug.value !== "";
  });
  name.addEventListener("input", () => {
    if (!edited) slug.value = slugify(name.value);
  });
}
