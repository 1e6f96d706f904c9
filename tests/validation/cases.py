"""Request bodies as users copy them from Kling's 2026 documentation, and certain mistakes.

``VALID`` must all be sent (none refused by the provider) and accepted by the emulator, which keeps its own
rules. ``INVALID`` must all be refused before anything is sent, with a message naming ``field``. ``FUTURE``
holds values Kling may add after this release: they warn and are sent. ``{video_id}`` stands for the id of a
video an earlier task generated (filled in by the tests)."""

from __future__ import annotations

import base64
from functools import cache
from typing import Any, NamedTuple

from airflow_provider_kling.testing.media import make_png


@cache
def png_b64(width: int, height: int) -> str:
    return base64.b64encode(make_png(width, height)).decode()


class Case(NamedTuple):
    id: str
    task_type: str
    body: dict[str, Any]


class Mistake(NamedTuple):
    id: str
    task_type: str
    body: dict[str, Any]
    field: str  # what the error message must name


IMG = "https://cdn.example.com/kling/input/cat.png"
IMG2 = "https://cdn.example.com/kling/input/dog.jpg"
VIDEO = "https://cdn.example.com/kling/input/dance.mp4"
AUDIO = "https://cdn.example.com/kling/input/voice.mp3"
CAMERA_ZOOM = {
    "type": "simple",
    "config": {"horizontal": 0, "vertical": 0, "pan": 0, "tilt": 0, "roll": 0, "zoom": 5},
}
SHOTS = [
    {"index": 1, "prompt": "A lighthouse at dusk, waves crash", "duration": "4"},
    {"index": 2, "prompt": "The lamp turns on and sweeps the sea", "duration": "3"},
    {"index": 3, "prompt": "A ship answers with its horn", "duration": "3"},
]
EMPTY_OPTIONALS = {"negative_prompt": "", "callback_url": "", "external_task_id": ""}


def valid_cases() -> list[Case]:
    return [
        # text2video: Kling's documented example, empty optional fields included.
        Case(
            "t2v-doc-example",
            "text2video",
            {
                "model_name": "kling-v1",
                "prompt": "An astronaut cooks spaghetti on the moon",
                "cfg_scale": 0.5,
                "mode": "std",
                "camera_control": CAMERA_ZOOM,
                "aspect_ratio": "16:9",
                "duration": "5",
                **EMPTY_OPTIONALS,
            },
        ),
        Case(
            "t2v-v2-6-sound",
            "text2video",
            {
                "model_name": "kling-v2-6",
                "prompt": "Rain on a tin roof",
                "mode": "pro",
                "sound": "on",
                "duration": "10",
            },
        ),
        Case(
            "t2v-v3-15s-4k",
            "text2video",
            {"model_name": "kling-v3", "prompt": "A city wakes", "duration": "15", "mode": "4k"},
        ),
        Case(
            "t2v-v3-3s",
            "text2video",
            {"model_name": "kling-v3", "prompt": "A blink", "duration": "3", "sound": "off"},
        ),
        Case(
            "t2v-v3-7s-int", "text2video", {"model_name": "kling-v3", "prompt": "A slow pan", "duration": 7}
        ),
        Case(
            "t2v-multi-shot-customize",
            "text2video",
            {
                "model_name": "kling-v3",
                "multi_shot": True,
                "shot_type": "customize",
                "multi_prompt": SHOTS,
                "duration": "10",
                "aspect_ratio": "9:16",
                **EMPTY_OPTIONALS,
            },
        ),
        Case(
            "t2v-multi-shot-intelligence",
            "text2video",
            {
                "model_name": "kling-v3",
                "multi_shot": True,
                "shot_type": "intelligence",
                "prompt": "A heist in 3 shots",
            },
        ),
        Case(
            "t2v-elements-voices-watermark",
            "text2video",
            {
                "model_name": "kling-v3",
                "prompt": "<<<element_1>>> greets the camera",
                "element_list": [{"element_id": "829473918273"}],
                "voice_list": [{"voice_id": "genshin_vindi2"}],
                "watermark_info": {"enabled": True},
            },
        ),
        Case(
            "t2v-camera-preset",
            "text2video",
            {"prompt": "Over the forest", "camera_control": {"type": "forward_up"}, "aspect_ratio": "1:1"},
        ),
        # image2video
        Case(
            "i2v-doc-example-masks",
            "image2video",
            {
                "model_name": "kling-v1",
                "mode": "pro",
                "duration": "5",
                "image": IMG,
                "prompt": "The boat drifts to the right",
                "cfg_scale": 0.5,
                "static_mask": "https://cdn.example.com/kling/input/static_mask.png",
                "dynamic_masks": [
                    {
                        "mask": "https://cdn.example.com/kling/input/dynamic_mask_1.png",
                        "trajectories": [{"x": 279, "y": 219}, {"x": 417, "y": 65}],
                    }
                ],
                **EMPTY_OPTIONALS,
            },
        ),
        Case(
            "i2v-head-and-tail",
            "image2video",
            {"image": IMG, "image_tail": IMG2, "prompt": "Morph", "mode": "pro"},
        ),
        Case("i2v-tail-only", "image2video", {"image_tail": IMG2, "model_name": "kling-v1-6"}),
        Case(
            "i2v-multi-shot-empty-prompt",
            "image2video",
            {
                "model_name": "kling-v3",
                "image": IMG,
                "prompt": "",
                "multi_shot": True,
                "shot_type": "customize",
                "multi_prompt": SHOTS[:2],
                "duration": "7",
            },
        ),
        Case(
            "i2v-sound-v2-6",
            "image2video",
            {"model_name": "kling-v2-6", "image": IMG, "sound": "on", "duration": "10"},
        ),
        Case("i2v-base64-png", "image2video", {"image": png_b64(640, 360), "prompt": "Wind in the grass"}),
        Case(
            "i2v-camera-simple",
            "image2video",
            {"image": IMG, "camera_control": {"type": "simple", "config": {"pan": -3.5}}, "duration": 5},
        ),
        # multi-image2video
        Case(
            "mi2v-doc-example",
            "multi-image2video",
            {
                "model_name": "kling-v1-6",
                "image_list": [{"image": IMG}, {"image": IMG2}],
                "prompt": "The two friends meet in a park",
                "mode": "std",
                "duration": "5",
                "aspect_ratio": "16:9",
                **EMPTY_OPTIONALS,
            },
        ),
        Case(
            "mi2v-four-images",
            "multi-image2video",
            {
                "image_list": [{"image": IMG}, {"image": IMG2}, {"image": IMG}, {"image": png_b64(400, 400)}],
                "prompt": "A",
            },
        ),
        # video-extend
        Case("extend-minimal", "video-extend", {"video_id": "{video_id}"}),
        Case(
            "extend-doc-example",
            "video-extend",
            {"video_id": "{video_id}", "prompt": "The camera rises", "cfg_scale": 0.5, **EMPTY_OPTIONALS},
        ),
        # generations
        Case(
            "gen-doc-example",
            "generations",
            {
                "model_name": "kling-v1",
                "prompt": "A watercolor fox",
                "negative_prompt": "",
                "image": "",
                "image_reference": "",
                "image_fidelity": 0.5,
                "human_fidelity": 0.45,
                "n": 1,
                "aspect_ratio": "16:9",
                "callback_url": "",
            },
        ),
        Case(
            "gen-reference-subject",
            "generations",
            {
                "model_name": "kling-v1-5",
                "prompt": "The same cat as a knight",
                "image": IMG,
                "image_reference": "subject",
            },
        ),
        Case(
            "gen-2k-nine-wide",
            "generations",
            {
                "model_name": "kling-v2-1",
                "prompt": "Skyline",
                "resolution": "2k",
                "n": 9,
                "aspect_ratio": "21:9",
            },
        ),
        Case(
            "gen-v3-watermark",
            "generations",
            {"model_name": "kling-v3", "prompt": "A logo", "watermark_info": {"enabled": False}},
        ),
        Case("gen-n-as-string", "generations", {"prompt": "Two kites", "n": "2", "aspect_ratio": "3:2"}),
        # kolors-virtual-try-on
        Case(
            "tryon-doc-example",
            "kolors-virtual-try-on",
            {
                "model_name": "kolors-virtual-try-on-v1-5",
                "human_image": IMG,
                "cloth_image": IMG2,
                "callback_url": "",
            },
        ),
        Case(
            "tryon-tall-full-body-photo",
            "kolors-virtual-try-on",
            {"human_image": png_b64(300, 900), "cloth_image": IMG2, "model_name": "kolors-virtual-try-on-v1"},
        ),
        # The types added in 2026: each of them, as Kling documents its body.
        Case(
            "lipsync-text",
            "lip-sync",
            {
                "input": {
                    "video_id": "{video_id}",
                    "mode": "text2video",
                    "text": "Hello from the pipeline",
                    "voice_id": "genshin_vindi2",
                    "voice_language": "en",
                    "voice_speed": 1.0,
                },
                "callback_url": "",
            },
        ),
        Case(
            "lipsync-audio-url",
            "lip-sync",
            {"input": {"video_url": VIDEO, "mode": "audio2video", "audio_type": "url", "audio_url": AUDIO}},
        ),
        Case(
            "effects-hug",
            "effects",
            {
                "effect_scene": "hug",
                "input": {"model_name": "kling-v1-6", "mode": "std", "images": [IMG, IMG2], "duration": "5"},
            },
        ),
        Case(
            "effects-one-image",
            "effects",
            {"effect_scene": "bloombloom", "input": {"image": IMG, "duration": "5"}},
        ),
        Case(
            "omni-video",
            "omni-video",
            {
                "model_name": "kling-video-o1",
                "prompt": "<<<image_1>>> walks through the rain",
                "image_list": [{"image_url": IMG, "type": "first_frame"}],
                "mode": "pro",
                "duration": "5",
            },
        ),
        Case(
            "motion-control",
            "motion-control",
            {
                "model_name": "kling-v2-6",
                "image_url": IMG,
                "video_url": VIDEO,
                "character_orientation": "image",
                "mode": "std",
                "keep_original_sound": "yes",
            },
        ),
        Case(
            "avatar",
            "avatar/image2video",
            {"image": IMG, "sound_file": AUDIO, "prompt": "smiles", "mode": "std"},
        ),
        Case(
            "multi-image2image",
            "multi-image2image",
            {
                "model_name": "kling-v2",
                "prompt": "The cat in the garden",
                "subject_image_list": [{"subject_image": IMG}],
                "scene_image": IMG2,
                "n": 2,
                "aspect_ratio": "1:1",
            },
        ),
        Case(
            "expand",
            "editing/expand",
            {
                "image": IMG,
                "up_expansion_ratio": 0.5,
                "down_expansion_ratio": 0.5,
                "left_expansion_ratio": 0.2,
                "right_expansion_ratio": 0.2,
                "prompt": "",
                "n": 1,
            },
        ),
        Case(
            "omni-image",
            "omni-image",
            {"prompt": "<<<image_1>>> in winter", "image_list": [{"image": IMG}], "n": 1, "resolution": "1k"},
        ),
        Case("text-to-audio", "text-to-audio", {"prompt": "Rain on leaves", "duration": 5.0}),
        Case(
            "video-to-audio",
            "video-to-audio",
            {"video_id": "{video_id}", "sound_effect_prompt": "footsteps", "bgm_prompt": "calm piano"},
        ),
        Case(
            "omni-video-v3-references",
            "omni-video",
            {
                "model_name": "kling-v3-omni",
                "prompt": "<<<element_1>>> dances like <<<video_1>>>",
                "element_list": [{"element_id": "829473918273"}],
                "video_list": [{"video_url": VIDEO, "refer_type": "feature", "keep_original_sound": "no"}],
                "duration": "10",
                "aspect_ratio": "9:16",
            },
        ),
        Case(
            "motion-control-v3",
            "motion-control",
            {
                "model_name": "kling-v3",
                "image_url": IMG,
                "video_url": VIDEO,
                "character_orientation": "video",
            },
        ),
        Case(
            "avatar-audio-id", "avatar/image2video", {"image": IMG, "audio_id": "848373618375", "mode": "pro"}
        ),
        Case(
            "multi-image2image-four-subjects",
            "multi-image2image",
            {
                "model_name": "kling-v2-1",
                "subject_image_list": [{"subject_image": IMG}, {"subject_image": IMG2}] * 2,
                "style_image": IMG2,
                "aspect_ratio": "16:9",
            },
        ),
        Case("expand-minimal", "editing/expand", {"image": IMG}),
        Case(
            "omni-image-elements",
            "omni-image",
            {
                "prompt": "<<<element_1>>> on a beach",
                "element_list": [{"element_id": "829473918273"}],
                "n": 4,
                "aspect_ratio": "16:9",
            },
        ),
        Case(
            "text-to-audio-ten-seconds",
            "text-to-audio",
            {"prompt": "Thunder rumbling far away", "duration": 10},
        ),
        Case("video-to-audio-url-asmr", "video-to-audio", {"video_url": VIDEO, "asmr_mode": True}),
        Case(
            "tts-chinese-fast",
            "tts",
            {"text": "早上好", "voice_id": "zh_female_1", "voice_language": "zh", "voice_speed": 2.0},
        ),
        Case(
            "tts",
            "tts",
            {
                "text": "Hello from Airflow",
                "voice_id": "genshin_vindi2",
                "voice_language": "en",
                "voice_speed": 1,
            },
        ),
    ]


LONG = "x" * 2501
POINT = {"x": 10, "y": 10}


def invalid_cases() -> list[Mistake]:
    t2v = "text2video"
    i2v = "image2video"
    return [
        Mistake("t2v-no-prompt", t2v, {"model_name": "kling-v2-6"}, "prompt is required"),
        Mistake("t2v-blank-prompt-only", t2v, {"prompt": "   "}, "prompt is required"),
        Mistake("t2v-prompt-too-long", t2v, {"prompt": LONG}, "prompt must be at most 2500"),
        Mistake("t2v-prompt-not-text", t2v, {"prompt": 123}, "prompt must be a non-empty string"),
        Mistake("t2v-negative-too-long", t2v, {"prompt": "p", "negative_prompt": LONG}, "negative_prompt"),
        Mistake("t2v-cfg-out-of-range", t2v, {"prompt": "p", "cfg_scale": 1.5}, "cfg_scale must be a number"),
        Mistake("t2v-cfg-not-a-number", t2v, {"prompt": "p", "cfg_scale": "high"}, "cfg_scale"),
        Mistake("t2v-duration-not-a-number", t2v, {"prompt": "p", "duration": "five"}, "duration must be"),
        Mistake("t2v-duration-bool", t2v, {"prompt": "p", "duration": True}, "duration must be"),
        Mistake("t2v-mode-not-text", t2v, {"prompt": "p", "mode": 4}, "mode must be a string"),
        Mistake("t2v-sound-not-text", t2v, {"prompt": "p", "sound": True}, "sound must be a string"),
        Mistake(
            "t2v-camera-unknown-type",
            t2v,
            {"prompt": "p", "camera_control": {"type": "spin"}},
            "camera_control.type",
        ),
        Mistake(
            "t2v-camera-two-axes",
            t2v,
            {"prompt": "p", "camera_control": {"type": "simple", "config": {"pan": 1, "zoom": 2}}},
            "camera_control.config must be exactly one non-zero",
        ),
        Mistake(
            "t2v-camera-axis-out-of-range",
            t2v,
            {"prompt": "p", "camera_control": {"type": "simple", "config": {"zoom": 11}}},
            "camera_control.config.zoom",
        ),
        Mistake(
            "t2v-camera-preset-with-config",
            t2v,
            {"prompt": "p", "camera_control": {"type": "down_back", "config": {"zoom": 1}}},
            "camera_control.config",
        ),
        Mistake(
            "t2v-customize-without-shots",
            t2v,
            {"multi_shot": True, "shot_type": "customize", "duration": "10"},
            "multi_prompt is required",
        ),
        Mistake(
            "t2v-seven-shots",
            t2v,
            {"multi_shot": True, "shot_type": "customize", "multi_prompt": [SHOTS[0]] * 7},
            "multi_prompt must have 1 to 6",
        ),
        Mistake(
            "t2v-shot-without-prompt",
            t2v,
            {"multi_shot": True, "shot_type": "customize", "multi_prompt": [{"index": 1, "duration": "5"}]},
            "multi_prompt[0].prompt is required",
        ),
        Mistake(
            "t2v-shots-do-not-add-up",
            t2v,
            {"multi_shot": True, "shot_type": "customize", "multi_prompt": SHOTS, "duration": "15"},
            "multi_prompt durations add up to 10",
        ),
        Mistake(
            "t2v-multi-shot-not-bool",
            t2v,
            {"prompt": "p", "multi_shot": "maybe"},
            "multi_shot must be true or false",
        ),
        Mistake(
            "t2v-watermark-not-bool",
            t2v,
            {"prompt": "p", "watermark_info": {"enabled": "yes"}},
            "watermark_info.enabled",
        ),
        Mistake(
            "t2v-element-list-not-list", t2v, {"prompt": "p", "element_list": "829473918273"}, "element_list"
        ),
        Mistake(
            "t2v-voice-without-id",
            t2v,
            {"prompt": "p", "voice_list": [{}]},
            "voice_list[0].voice_id is required",
        ),
        Mistake(
            "t2v-callback-not-http",
            t2v,
            {"prompt": "p", "callback_url": "ftp://example.com/cb"},
            "callback_url",
        ),
        Mistake(
            "t2v-external-id-with-slash", t2v, {"prompt": "p", "external_task_id": "a/b"}, "external_task_id"
        ),
        Mistake("i2v-no-frame", i2v, {"prompt": "p", "image": ""}, "image, image_tail"),
        Mistake(
            "i2v-tail-and-camera",
            i2v,
            {"image": IMG, "image_tail": IMG2, "camera_control": {"type": "forward_up"}},
            "cannot be combined",
        ),
        Mistake(
            "i2v-one-point-trajectory",
            i2v,
            {"image": IMG, "dynamic_masks": [{"mask": IMG, "trajectories": [POINT]}]},
            "dynamic_masks[0].trajectories must have 2 to 77",
        ),
        Mistake(
            "i2v-78-point-trajectory",
            i2v,
            {"image": IMG, "dynamic_masks": [{"mask": IMG, "trajectories": [POINT] * 78}]},
            "dynamic_masks[0].trajectories must have 2 to 77",
        ),
        Mistake(
            "i2v-seven-masks",
            i2v,
            {"image": IMG, "dynamic_masks": [{"mask": IMG, "trajectories": [POINT, POINT]}] * 7},
            "dynamic_masks must have 1 to 6",
        ),
        Mistake(
            "i2v-point-not-a-number",
            i2v,
            {"image": IMG, "dynamic_masks": [{"mask": IMG, "trajectories": [{"x": "a", "y": 1}, POINT]}]},
            "dynamic_masks[0].trajectories[0].x",
        ),
        Mistake(
            "i2v-wide-first-frame", i2v, {"image": png_b64(900, 300)}, "image aspect ratio must be between"
        ),
        Mistake("i2v-small-image", i2v, {"image": png_b64(200, 200)}, "image must be at least 300 px"),
        Mistake(
            "i2v-not-an-image",
            i2v,
            {"image": base64.b64encode(b"%PDF-1.7 " * 20).decode()},
            "image must be a JPEG or PNG",
        ),
        Mistake(
            "mi2v-five-images",
            "multi-image2video",
            {"image_list": [{"image": IMG}] * 5, "prompt": "p"},
            "image_list must",
        ),
        Mistake(
            "mi2v-no-prompt", "multi-image2video", {"image_list": [{"image": IMG}]}, "prompt is required"
        ),
        Mistake(
            "mi2v-empty-item",
            "multi-image2video",
            {"image_list": [{"image": ""}], "prompt": "p"},
            "image_list[0].image",
        ),
        Mistake("extend-no-video", "video-extend", {"prompt": "longer"}, "video_id is required"),
        Mistake(
            "gen-reference-without-image",
            "generations",
            {"prompt": "p", "image_reference": "subject"},
            "image_reference needs image",
        ),
        Mistake(
            "gen-ten-images", "generations", {"prompt": "p", "n": 10}, "n must be an integer from 1 to 9"
        ),
        Mistake(
            "gen-fidelity-above-one", "generations", {"prompt": "p", "image_fidelity": 2}, "image_fidelity"
        ),
        Mistake("tryon-no-cloth", "kolors-virtual-try-on", {"human_image": IMG}, "cloth_image is required"),
        Mistake("tryon-no-person", "kolors-virtual-try-on", {"cloth_image": IMG}, "human_image is required"),
        Mistake("lipsync-no-input", "lip-sync", {"callback_url": ""}, "input is required"),
        Mistake(
            "lipsync-two-videos",
            "lip-sync",
            {
                "input": {
                    "video_id": "v",
                    "video_url": VIDEO,
                    "mode": "audio2video",
                    "audio_type": "url",
                    "audio_url": AUDIO,
                }
            },
            "exactly one of input.video_id, input.video_url",
        ),
        Mistake(
            "lipsync-text-mode-without-text",
            "lip-sync",
            {"input": {"video_url": VIDEO, "mode": "text2video", "voice_id": "v"}},
            "input.text is required when input.mode is 'text2video'",
        ),
        Mistake(
            "lipsync-text-too-long",
            "lip-sync",
            {"input": {"video_url": VIDEO, "mode": "text2video", "voice_id": "v", "text": "x" * 121}},
            "input.text must be at most 120",
        ),
        Mistake(
            "lipsync-file-without-audio",
            "lip-sync",
            {"input": {"video_url": VIDEO, "mode": "audio2video", "audio_type": "file"}},
            "input.audio_file is required",
        ),
        Mistake(
            "lipsync-unknown-mode", "lip-sync", {"input": {"video_url": VIDEO, "mode": "sing"}}, "input.mode"
        ),
        Mistake("effects-no-scene", "effects", {"input": {"image": IMG}}, "effect_scene is required"),
        Mistake(
            "effects-image-and-images",
            "effects",
            {"effect_scene": "hug", "input": {"image": IMG, "images": [IMG, IMG2]}},
            "exactly one of input.image, input.images",
        ),
        Mistake(
            "omni-image-without-url",
            "omni-video",
            {"prompt": "p", "image_list": [{"type": "first_frame"}]},
            "image_url",
        ),
        Mistake(
            "omni-ftp-video",
            "omni-video",
            {"prompt": "p", "video_list": [{"video_url": "ftp://x/a.mp4"}]},
            "video_url",
        ),
        Mistake("avatar-no-image", "avatar/image2video", {"audio_id": "a1"}, "image is required"),
        Mistake(
            "avatar-no-audio", "avatar/image2video", {"image": IMG}, "exactly one of audio_id, sound_file"
        ),
        Mistake("mii-no-subjects", "multi-image2image", {"prompt": "p"}, "subject_image_list is required"),
        Mistake(
            "omni-image-eleven", "omni-image", {"prompt": "p", "n": 10}, "n must be an integer from 1 to 9"
        ),
        Mistake(
            "v2a-two-videos",
            "video-to-audio",
            {"video_id": "v", "video_url": VIDEO},
            "exactly one of video_id",
        ),
        Mistake(
            "v2a-prompt-201", "video-to-audio", {"video_url": VIDEO, "bgm_prompt": "x" * 201}, "bgm_prompt"
        ),
        Mistake(
            "extend-cfg-2", "video-extend", {"video_id": "v", "cfg_scale": 2}, "cfg_scale must be a number"
        ),
        Mistake("omni-no-prompt", "omni-video", {"model_name": "kling-video-o1"}, "prompt is required"),
        Mistake("motion-no-video", "motion-control", {"image_url": IMG}, "video_url is required"),
        Mistake(
            "motion-ftp-video",
            "motion-control",
            {"image_url": IMG, "video_url": "ftp://x/v.mp4"},
            "video_url",
        ),
        Mistake(
            "avatar-two-audios",
            "avatar/image2video",
            {"image": IMG, "audio_id": "a1", "sound_file": AUDIO},
            "exactly one of audio_id, sound_file",
        ),
        Mistake(
            "mii-five-subjects",
            "multi-image2image",
            {"subject_image_list": [{"subject_image": IMG}] * 5},
            "subject_image_list must have 1 to 4",
        ),
        Mistake(
            "expand-ratio-3", "editing/expand", {"image": IMG, "up_expansion_ratio": 3}, "up_expansion_ratio"
        ),
        Mistake(
            "expand-too-much",
            "editing/expand",
            {"image": IMG, **{f"{side}_expansion_ratio": 1 for side in ("up", "down", "left", "right")}},
            "expansion ratios make the image 9x",
        ),
        Mistake("omni-image-no-prompt", "omni-image", {"image_list": [{"image": IMG}]}, "prompt is required"),
        Mistake(
            "t2a-prompt-201",
            "text-to-audio",
            {"prompt": "x" * 201, "duration": 5},
            "prompt must be at most 200",
        ),
        Mistake("t2a-no-duration", "text-to-audio", {"prompt": "rain"}, "duration is required"),
        Mistake(
            "v2a-no-video", "video-to-audio", {"bgm_prompt": "piano"}, "exactly one of video_id, video_url"
        ),
        Mistake("tts-no-text", "tts", {"voice_id": "v"}, "text is required"),
        Mistake("tts-text-1001", "tts", {"text": "x" * 1001}, "text must be at most 1000"),
        Mistake(
            "tts-speed-3",
            "tts",
            {"text": "hi", "voice_speed": 3},
            "voice_speed must be a number from 0.8 to 2",
        ),
    ]


#: Values Kling may add after this release: warned about, sent, and Kling's own answer decides.
FUTURE: list[tuple[str, str, dict[str, Any]]] = [
    ("model_name", "text2video", {"prompt": "p", "model_name": "kling-v9"}),
    ("mode", "text2video", {"prompt": "p", "mode": "8k"}),
    ("duration", "text2video", {"prompt": "p", "duration": "20"}),
]


def typed_kwargs(task_type: str, body: dict[str, Any]) -> dict[str, Any]:
    """A body as the typed operator's keyword arguments: Kling's ``input`` object flattened."""
    from airflow_provider_kling.spec import get_task_type

    nested = get_task_type(task_type).nested
    inner = body.get(nested, {}) if nested else {}
    return {**{k: v for k, v in body.items() if k != nested}, **inner}


def with_video_id(body: Any, video_id: str) -> Any:
    """The body with ``{video_id}`` (at any depth) replaced by a video id (or a template of one)."""
    if isinstance(body, dict):
        return {name: with_video_id(value, video_id) for name, value in body.items()}
    return video_id if body == "{video_id}" else body
