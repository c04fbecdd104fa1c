"""Pre-training of backbones on rendered image sets with timm parts (SPEC §5).

`loop.pretrain` trains and writes a checkpoint folder; `checkpoint.load_backbone` reads it back.
Nothing heavy is imported here, so `task2sim --help` stays fast.
"""
