"""GLSL programs of the embedded renderer: background, object and post-processing passes.

Kept as strings beside the code that binds their uniforms; GLSL 3.30 so Mesa llvmpipe runs them.
llvmpipe shades 4x4 blocks under a lane mask: both sides of an `if` run, but a loop whose count is
zero on every lane of a block is skipped, so optional work sits in `for (...; i < n; ...)` loops.
"""

from task2sim.assets.material_noise import FBM_MAX, PERIOD, SIZE

FULLSCREEN_VERTEX = """
#version 330
out vec2 v_uv;
void main() {
    // one triangle covering the screen, no vertex buffer needed
    vec2 p = vec2((gl_VertexID << 1) & 2, gl_VertexID & 2);
    v_uv = p;
    gl_Position = vec4(p * 2.0 - 1.0, 1.0, 1.0);
}
"""

# Circle of confusion, stored in the scene's alpha channel by the background and object passes so
# the blur pass reads it with its colour taps (half the texture fetches of reading depth).
_COC = """
uniform float u_coc_scale;   // blur radius (uv) per unit of |1/z - 1/focus|; 0 = all sharp
uniform float u_focus;       // focus distance
uniform float u_max_coc;     // largest blur radius (uv): alpha 1
float coc_alpha(float inverse_distance) {
    return min(u_coc_scale * abs(inverse_distance - 1.0 / u_focus), u_max_coc) / u_max_coc;
}
"""

BACKGROUND_FRAGMENT = (
    """
#version 330
"""
    + _COC
    + """
in vec2 v_uv;
out vec4 f_color;
uniform samplerCube u_env;    // the background, converted from equirect once at upload
uniform mat3 u_ray_to_world;  // camera ray -> world direction, including the background's view
uniform vec2 u_tan_half_fov;
void main() {
    vec3 ray = vec3((v_uv * 2.0 - 1.0) * u_tan_half_fov, -1.0);
    f_color = vec4(texture(u_env, u_ray_to_world * ray).rgb, coc_alpha(0.0));  // at infinity
}
"""
)

OBJECT_VERTEX = """
#version 330
in vec3 in_position;
in vec3 in_normal;
in vec3 in_color;
uniform mat4 u_mvp;
uniform mat3 u_rotation;     // object pose; the object sits at the world origin
out vec3 v_object_pos;       // pattern space: materials stick to the object
out vec3 v_world_pos;
out vec3 v_normal;
out vec3 v_color;
void main() {
    v_object_pos = in_position;
    v_world_pos = u_rotation * in_position;
    v_normal = u_rotation * in_normal;
    v_color = in_color;
    gl_Position = u_mvp * vec4(in_position, 1.0);
}
"""

_OBJECT_FRAGMENT = """
in vec3 v_object_pos;
in vec3 v_world_pos;
in vec3 v_normal;
in vec3 v_color;
out vec4 f_color;
uniform vec3 u_camera;
uniform vec3 u_light_dir;        // towards the light, world space
uniform vec3 u_light_color;      // colour times intensity
uniform vec3 u_sky;              // ambient (linear RGB): background's upper half
uniform vec3 u_ground;           // ... and lower half
uniform vec3 u_color_a;
uniform vec3 u_color_b;
uniform float u_scale;
uniform float u_specular;
uniform float u_shininess;
uniform float u_metallic;

uniform sampler3D u_noise;       // material_noise.noise_volume: R = fbm, G = per-texel random
float fbm(vec3 p) { return texture(u_noise, p / NOISE_PERIOD).r * FBM_MAX; }  // volume tiles
float speckle(vec3 p) { return texture(u_noise, p / NOISE_SIZE).g; }  // one lattice cell per texel
vec3 albedo(vec3 p) {
    vec3 q = p * u_scale;
    float t = 0.0;
#if PATTERN == 2
    t = smoothstep(0.35, 0.65, fbm(q));                       // noise
#elif PATTERN == 3
    t = pow(abs(sin(q.x + 4.0 * fbm(q))), 0.3);               // marble
#elif PATTERN == 4
    t = fract(length(q.xz) * 1.5 + 0.6 * fbm(q * 0.7));       // wood
#elif PATTERN == 5
    t = mod(floor(q.x) + floor(q.y) + floor(q.z), 2.0);       // checker
#elif PATTERN == 6
    t = step(0.5, fract(q.y + 0.25 * q.x));                   // stripes
#elif PATTERN == 7
    t = step(length(fract(q) - 0.5), 0.3);                    // dots
#elif PATTERN == 8
    t = step(0.75, speckle(q * 6.0));                         // granite
#elif PATTERN == 9
    t = step(0.5, fbm(q * 0.8));                              // camouflage
#endif
    return mix(u_color_a, u_color_b, t);
}
void main() {
    vec3 n = normalize(v_normal);
    vec3 to_camera = normalize(u_camera - v_world_pos);
    if (dot(n, to_camera) < 0.0) n = -n;  // thin or open parts: light the visible side
#if PATTERN < 0
    vec3 base = v_color;
#else
    vec3 base = albedo(v_object_pos);
#endif
    vec3 ambient = mix(u_ground, u_sky, 0.5 + 0.5 * n.y);
    float diffuse = max(dot(n, u_light_dir), 0.0);
    vec3 h = normalize(u_light_dir + to_camera);
    float highlight = diffuse > 0.0 ? pow(max(dot(n, h), 0.0), u_shininess) : 0.0;
    vec3 spec_color = mix(vec3(1.0), base, u_metallic) * u_specular * highlight;
    float diffuse_share = 1.0 - 0.7 * u_metallic;
    vec3 color = base * (ambient + diffuse_share * diffuse * u_light_color)
               + spec_color * u_light_color;
    float inverse_distance = 1.0 / length(u_camera - v_world_pos);
    // lit in linear RGB, stored as sRGB
    f_color = vec4(pow(color, vec3(1.0 / 2.2)), coc_alpha(inverse_distance));
}
"""


def object_fragment(pattern: int) -> str:
    """The object shader for one material pattern (-1: the mesh's own colours).

    One program per pattern, because llvmpipe runs both sides of a branch under a mask: a single
    shader switching on a uniform would pay for every pattern's texture fetch on every fragment.
    """
    defines = "".join(
        f"#define {name} {value}\n"
        for name, value in (
            ("PATTERN", pattern),
            ("FBM_MAX", FBM_MAX),
            ("NOISE_SIZE", f"{SIZE:.1f}"),
            ("NOISE_PERIOD", f"{PERIOD:.1f}"),
        )
    )
    return f"#version 330\n{defines}{_COC}{_OBJECT_FRAGMENT}"


_POST_COMMON = """
in vec2 v_uv;
out vec4 f_color;
uniform sampler2D u_color;   // the scene (linear filtering); alpha = blur radius
uniform vec2 u_texel;        // 1 / size of u_color
uniform float u_max_coc;     // blur radius (uv) of alpha 1
float luma(vec3 c) { return dot(c, vec3(0.299, 0.587, 0.114)); }
"""

_POST_FRAGMENT = """
uniform sampler2D u_blurred;  // the gather pass's output, at a fraction of the resolution
uniform float u_blend;        // radius (uv) over which sharp turns into blurred
vec3 antialiased(vec2 uv, vec3 c) {
    // edge-only smoothing: where local contrast is high, average four bilinear taps placed
    // half a texel off the diagonals (a 3x3 tent filter); flat regions keep their texel
    vec3 a = texture(u_color, uv + vec2(-0.5, -0.5) * u_texel).rgb;
    vec3 b = texture(u_color, uv + vec2(0.5, -0.5) * u_texel).rgb;
    vec3 d = texture(u_color, uv + vec2(-0.5, 0.5) * u_texel).rgb;
    vec3 e = texture(u_color, uv + vec2(0.5, 0.5) * u_texel).rgb;
    float lo = min(min(luma(a), luma(b)), min(luma(d), luma(e)));
    float hi = max(max(luma(a), luma(b)), max(luma(d), luma(e)));
    float edge = smoothstep(0.05, 0.2, hi - lo);
    return mix(c, 0.25 * (a + b + d + e), 0.7 * edge);
}
void main() {
    vec4 c = texture(u_color, v_uv);
#if BLUR
    // circle of confusion under half a pixel: exactly the sharp image; then a blend into the
    // low-resolution blur over u_blend (its texels are coarse for small radii). Each side is
    // fetched only in blocks that need it: most of a blurred image is fully blurred.
    float t = clamp((c.a * u_max_coc - 0.5 * u_texel.x) / u_blend, 0.0, 1.0);
    vec3 sharp = c.rgb;
    for (int i = 0; i < int(t < 1.0); i++) sharp = antialiased(v_uv, c.rgb);
    vec3 blurred = sharp;
    for (int i = 0; i < int(t > 0.0); i++) blurred = texture(u_blurred, v_uv).rgb;
    f_color = vec4(mix(sharp, blurred, t), 1.0);
#else
    f_color = vec4(antialiased(v_uv, c.rgb), 1.0);
#endif
}
"""

_GATHER_FRAGMENT = """
uniform vec2 u_low_texel;    // 1 / size of this pass's target
const int TAPS = 16;
const vec2 DISK[16] = vec2[](
    vec2(0.0, 0.0), vec2(0.527, 0.085), vec2(-0.040, 0.536), vec2(-0.670, -0.179),
    vec2(-0.419, -0.616), vec2(0.440, -0.639), vec2(-0.757, 0.349), vec2(0.574, 0.685),
    vec2(0.976, -0.122), vec2(-0.265, -0.965), vec2(0.116, 0.989), vec2(-0.974, -0.203),
    vec2(0.770, -0.623), vec2(-0.590, 0.793), vec2(0.248, -0.286), vec2(0.147, 0.258)
);
void main() {
    // a disk of taps of the full-resolution scene, for one texel of a smaller target
    float radius = max(texture(u_color, v_uv).a * u_max_coc, u_low_texel.x);
    vec3 sum = vec3(0.0);
    float weight = 0.0;
    for (int i = 0; i < TAPS; i++) {
        vec2 uv = v_uv + DISK[i] * radius;
        // a tap counts if it is itself blurred at least this far: keeps sharp edges in front
        vec4 tap = texture(u_color, uv);
        float reach = tap.a * u_max_coc / max(radius * length(DISK[i]), 1e-5);
        float w = i == 0 ? 1.0 : clamp(reach, 0.0, 1.0);
        sum += tap.rgb * w;
        weight += w;
    }
    f_color = vec4(sum / weight, 1.0);
}
"""


def post_fragment(blur: bool) -> str:
    """The final pass: anti-aliasing, plus the focus blur composite (a separate program, so sharp
    images pay nothing for it)."""
    return f"#version 330\n#define BLUR {int(blur)}\n{_POST_COMMON}{_POST_FRAGMENT}"


def gather_fragment() -> str:
    """The focus blur's disk gather, run at a fraction of the image resolution."""
    return f"#version 330\n{_POST_COMMON}{_GATHER_FRAGMENT}"
