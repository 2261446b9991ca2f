"""The risk engine: may this business buyer pay this cart by invoice?"""
